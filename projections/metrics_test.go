package projections_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetricsReportEachProjectorsCheckpointAndLag(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	r := f.runner(things{})
	last := f.seed(t, 0, 2)
	f.waitVisible(t, last)
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	behind := f.seed(t, 2, 1) // appended, not applied: nothing follows the log live here
	f.waitVisible(t, behind)

	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, fam := range families {
		for _, m := range fam.GetMetric() {
			if m.GetLabel()[0].GetValue() == "things" {
				got[fam.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	if got["jobserver_projection_checkpoint"] != float64(last.Seq) {
		t.Errorf("checkpoint metric = %v, want %d", got["jobserver_projection_checkpoint"], last.Seq)
	}
	if lag, ok := got["jobserver_projection_lag_seconds"]; !ok || lag <= 0 {
		t.Errorf("lag metric = %v (present %v), want above 0 while an event waits", lag, ok)
	}
}
