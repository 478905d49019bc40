package projections

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Most projector writes during a rebuild are single-row inserts, one per event, the same statement again and
// again. batchDB writes a run of the same insert as multi-row statements: one statement of n rows costs the
// server one parse, one plan and one executor start instead of n, which is most of a rebuild's write cost.
//
// Only statements whose meaning cannot change are coalesced:
//
//	INSERT INTO t (a, b, ...) VALUES (<expressions of $1..$n>) [ON CONFLICT ... DO NOTHING]
//
// with every placeholder inside the one VALUES tuple and no subquery in it (a subquery could read rows that
// earlier events of the same run insert, which a multi-row statement does not see yet). DO UPDATE is left
// alone: it refuses to touch a row twice in one statement. Postgres checks the constraints of a multi-row
// insert row by row in order, and DO NOTHING skips a row that conflicts with an earlier row of the same
// statement, so the rows written are those of the single-row statements. A batch that fails for any reason
// is applied again one event at a time, without coalescing (Runner.applyEach), so errors are reported as
// before.

// insertShape is a coalescable insert: the text before the tuple, the tuple cut at its placeholders, and
// the text after it.
type insertShape struct {
	head   string   // "INSERT INTO t (a, b) VALUES "
	parts  []string // the tuple's text between placeholders: len(parts) == len(params)+1
	params []int    // the placeholder numbers in the tuple, in order
	tail   string   // "" or " ON CONFLICT (...) DO NOTHING"
	arity  int      // how many arguments one row takes

	// For COPY: set when the statement names an unqualified table and plain columns, and the tuple is
	// exactly $1, ..., $n in column order. Empty otherwise.
	copyTable   string
	copyColumns []string

	mu   sync.Mutex
	sqls map[int]string // the statement for n rows
}

// maxCoalescedRows bounds one multi-row statement. Runs are cut into powers of two, so an insert has at
// most a handful of multi-row forms, each prepared once per connection and planned generically.
const maxCoalescedRows = 256

// maxParams is the protocol's limit on the parameters of one statement.
const maxParams = 65535

var insertShapes sync.Map // sql text → *insertShape, or nil when the statement is not coalescable

// coalescable returns the shape of sql when a run of it may be written as multi-row statements with args.
func coalescable(sql string, args []any) *insertShape {
	v, ok := insertShapes.Load(sql)
	if !ok {
		v, _ = insertShapes.LoadOrStore(sql, parseInsert(sql))
	}
	shape := v.(*insertShape)
	if shape == nil || len(args) != shape.arity {
		return nil
	}
	for _, a := range args {
		switch a.(type) {
		case pgx.QueryRewriter, pgx.QueryExecMode, pgx.QueryResultFormats, pgx.QueryResultFormatsByOID:
			return nil // options that change how pgx sends the statement
		}
	}
	return shape
}

var (
	insertHead     = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+[^$]*?\)\s*VALUES\s*\($`)
	doNothingTail  = regexp.MustCompile(`(?is)^\s*ON\s+CONFLICT\b[^$]*\bDO\s+NOTHING\s*$`)
	subqueryInside = regexp.MustCompile(`(?i)\b(SELECT|WITH|VALUES)\b`)
)

// parseInsert recognises a coalescable insert (see above) and returns nil for anything else. It is strict:
// comments, backslashes, dollar quoting and anything it does not understand make it say no.
func parseInsert(sql string) *insertShape {
	if strings.Contains(sql, "--") || strings.Contains(sql, "/*") || strings.ContainsAny(sql, `\;`) {
		return nil
	}
	// Find the VALUES tuple: the first "(" at depth 0 that follows the keyword VALUES.
	open, close := -1, -1
	depth := 0
	var quote byte
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			if depth == 0 && open < 0 && insertHead.MatchString(sql[:i+1]) {
				open = i
			}
			depth++
		case c == ')':
			depth--
			if depth == 0 && open >= 0 && close < 0 {
				close = i
			}
			if depth < 0 {
				return nil
			}
		}
	}
	if quote != 0 || depth != 0 || open < 0 || close < 0 {
		return nil
	}
	tail := sql[close+1:]
	if strings.TrimSpace(tail) != "" && !doNothingTail.MatchString(tail) {
		return nil
	}
	if tail = strings.TrimSpace(tail); tail != "" {
		tail = " " + tail
	}
	tuple := sql[open+1 : close]
	if subqueryInside.MatchString(unquoted(tuple)) {
		return nil
	}
	shape := &insertShape{head: strings.TrimSpace(sql[:open]) + " ", tail: tail, sqls: map[int]string{}}
	last := 0
	quote = 0
	for i := 0; i < len(tuple); i++ {
		c := tuple[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '$':
			j := i + 1
			for j < len(tuple) && tuple[j] >= '0' && tuple[j] <= '9' {
				j++
			}
			if j == i+1 {
				return nil // dollar quoting
			}
			n, err := strconv.Atoi(tuple[i+1 : j])
			if err != nil || n < 1 {
				return nil
			}
			shape.parts = append(shape.parts, tuple[last:i])
			shape.params = append(shape.params, n)
			shape.arity = max(shape.arity, n)
			last = j
			i = j - 1
		}
	}
	shape.parts = append(shape.parts, tuple[last:])
	// Every argument must be used in the tuple, or the single-row statement's parameter count would differ.
	used := make([]bool, shape.arity+1)
	for _, n := range shape.params {
		used[n] = true
	}
	for n := 1; n <= shape.arity; n++ {
		if !used[n] {
			return nil
		}
	}
	if shape.arity == 0 {
		return nil
	}
	shape.copyTable, shape.copyColumns = copyTarget(shape)
	return shape
}

var (
	copyHead = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+([a-z_][a-z0-9_]*)\s*\(([a-z0-9_,\s]*)\)\s*VALUES\s*$`)
	plainArg = regexp.MustCompile(`^\s*,?\s*$`)
	ident    = regexp.MustCompile(`(?i)^[a-z_][a-z0-9_]*$`)
)

// copyTarget returns the table and columns a COPY can write instead of the statement, when its tuple is
// the bare placeholders in order.
func copyTarget(s *insertShape) (string, []string) {
	m := copyHead.FindStringSubmatch(s.head)
	if m == nil || len(s.params) != s.arity {
		return "", nil
	}
	for i, p := range s.params {
		if p != i+1 || !plainArg.MatchString(s.parts[i]) {
			return "", nil
		}
	}
	if strings.TrimSpace(s.parts[len(s.parts)-1]) != "" {
		return "", nil
	}
	cols := strings.Split(m[2], ",")
	if len(cols) != s.arity {
		return "", nil
	}
	for i, c := range cols {
		c = strings.TrimSpace(c)
		if !ident.MatchString(c) {
			return "", nil
		}
		cols[i] = strings.ToLower(c) // unquoted names fold to lower case, as Postgres folds them
	}
	return strings.ToLower(m[1]), cols
}

// unquoted returns s with the contents of its quoted strings and identifiers blanked out.
func unquoted(s string) string {
	b := []byte(s)
	var quote byte
	for i, c := range b {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				b[i] = ' '
			}
		case c == '\'' || c == '"':
			quote = c
		}
	}
	return string(b)
}

// maxRows is how many rows one statement of this shape may carry.
func (s *insertShape) maxRows() int {
	return max(1, min(maxCoalescedRows, maxParams/s.arity))
}

// sql returns the statement that inserts n rows.
func (s *insertShape) sql(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.sqls[n]; ok {
		return q
	}
	var b strings.Builder
	b.WriteString(s.head)
	for row := range n {
		if row > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i, p := range s.params {
			b.WriteString(s.parts[i])
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(p + row*s.arity))
		}
		b.WriteString(s.parts[len(s.parts)-1])
		b.WriteByte(')')
	}
	b.WriteString(s.tail)
	q := b.String()
	s.sqls[n] = q
	return q
}

// queueRun queues the rows (each the arguments of one single-row statement) as few statements as the size
// limit allows, in order.
func (s *insertShape) queueRun(batch *pgx.Batch, single string, rows [][]any) {
	for len(rows) > 0 {
		n := 1
		for n*2 <= min(len(rows), s.maxRows()) {
			n *= 2
		}
		if n == 1 {
			batch.Queue(single, rows[0]...)
			rows = rows[1:]
			continue
		}
		args := make([]any, 0, n*s.arity)
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		batch.Queue(s.sql(n), args...)
		rows = rows[n:]
	}
}
