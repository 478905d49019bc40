// The module `make test-s3` builds SeaweedFS's weed in (copied to a temporary directory as go.mod): it
// pins the version and repeats SeaweedFS's own replace directive, which `go install weed@version` refuses.
module weedbuild

go 1.26.6

require github.com/seaweedfs/seaweedfs v0.0.0-20261109003541-7506e5f91cd6

replace github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0
