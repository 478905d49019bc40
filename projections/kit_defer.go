package projections

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// In a rebuild, a run of inserts into a table is often cut by updates of rows the run has just inserted
// (a person registers, then gets a global role), so it goes as many short statements instead of one COPY.
// batchDB lets such an update wait until the run has been written, when moving it past the rows inserted
// after it cannot change what it does:
//
//	UPDATE t SET <expressions> WHERE k = $1
//
// on the run's table, with the key column k among the run's columns (its value a bare placeholder) and a
// text key, and nothing in the
// expressions that reads a table (no FROM, so a subquery can only work on the row's own values). Such an
// update touches only the rows whose k equals its key; the run's rows inserted before it are written before
// it, as they were; and a row inserted after it with the same key (which the update, run in place, would
// not have touched) ends the run first, so the update runs before that row exists. Waiting updates keep
// their order.

// keyedUpdate is an update that may wait for the run of inserts into its table.
type keyedUpdate struct {
	table, keyColumn string
}

var keyedUpdates sync.Map // sql text → *keyedUpdate, or nil when the statement may not wait

var (
	keyedUpdateShape = regexp.MustCompile(`(?is)^\s*UPDATE\s+([a-z_][a-z0-9_]*)\s+SET\s+(.+?)\s+WHERE\s+([a-z_][a-z0-9_]*)\s*=\s*\$1\s*$`)
	readsTables      = regexp.MustCompile(`(?i)\b(FROM|WHERE|RETURNING|JOIN)\b`)
)

// parseKeyedUpdate recognises an update that may wait (see above); nil for anything else.
func parseKeyedUpdate(sql string) *keyedUpdate {
	if strings.Contains(sql, "--") || strings.Contains(sql, "/*") || strings.ContainsAny(sql, `\;`) {
		return nil
	}
	m := keyedUpdateShape.FindStringSubmatch(sql)
	if m == nil || readsTables.MatchString(unquoted(m[2])) {
		return nil
	}
	return &keyedUpdate{table: strings.ToLower(m[1]), keyColumn: strings.ToLower(m[3])}
}

// waitingUpdate is one update held back until the run is written.
type waitingUpdate struct {
	sql  string
	args []any
}

// insertRows is what a coalescable insert says of its rows: its table, and the argument each column
// takes when its value is a bare placeholder.
type insertRows struct {
	table   string
	columns map[string]int
}

var insertRowsOf sync.Map // *insertShape → *insertRows, or nil when its table or columns are not plain

// rowsOf reads the table and plain columns of a coalescable insert.
func rowsOf(s *insertShape) *insertRows {
	if v, ok := insertRowsOf.Load(s); ok {
		return v.(*insertRows)
	}
	var rows *insertRows
	if m := copyHead.FindStringSubmatch(s.head); m != nil {
		var tuple strings.Builder
		for i, p := range s.params {
			tuple.WriteString(s.parts[i] + "$" + strconv.Itoa(p))
		}
		tuple.WriteString(s.parts[len(s.parts)-1])
		columns, values := strings.Split(m[2], ","), topLevelItems(tuple.String())
		if len(columns) == len(values) {
			rows = &insertRows{table: strings.ToLower(m[1]), columns: map[string]int{}}
			for i, c := range columns {
				if n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(values[i]), "$")); err == nil && strings.TrimSpace(values[i]) == "$"+strconv.Itoa(n) {
					rows.columns[strings.ToLower(strings.TrimSpace(c))] = n - 1
				}
			}
		}
	}
	v, _ := insertRowsOf.LoadOrStore(s, rows)
	return v.(*insertRows)
}

// topLevelItems splits a tuple's text at its commas outside parentheses and quotes.
func topLevelItems(tuple string) []string {
	var items []string
	depth, last := 0, 0
	var quote byte
	for i := 0; i < len(tuple); i++ {
		switch c := tuple[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			items = append(items, tuple[last:i])
			last = i + 1
		}
	}
	return append(items, tuple[last:])
}

// runKey is the text key of an insert's row in column, and whether it has one.
func (r *insertRows) runKey(column string, args []any) (string, bool) {
	i, ok := r.columns[column]
	if !ok {
		return "", false
	}
	key, ok := args[i].(string)
	return key, ok
}

// holdUpdate holds back an update of the current run's table until the run is written, when that cannot
// change what it does; it reports whether it did.
func (d *batchDB) holdUpdate(sql string, args []any) bool {
	if !d.copyRuns || d.run == nil || len(args) == 0 {
		return false
	}
	rows := rowsOf(d.run)
	v, ok := keyedUpdates.Load(sql)
	if !ok {
		v, _ = keyedUpdates.LoadOrStore(sql, parseKeyedUpdate(sql))
	}
	u := v.(*keyedUpdate)
	if u == nil || rows == nil || u.table != rows.table {
		return false
	}
	key, ok := args[0].(string)
	if !ok || len(d.runRows) == 0 {
		return false
	}
	if _, ok := rows.runKey(u.keyColumn, d.runRows[0]); !ok {
		return false
	}
	if d.heldKeys == nil {
		d.heldKeys = map[string]bool{}
	}
	if !slices.Contains(d.heldColumns, u.keyColumn) {
		d.heldColumns = append(d.heldColumns, u.keyColumn)
	}
	d.held = append(d.held, waitingUpdate{sql: sql, args: args})
	d.heldKeys[u.keyColumn+"\x00"+key] = true
	return true
}

// holdsKeyOf reports whether an update held back has the key of the run's next row: that row must wait
// for it.
func (d *batchDB) holdsKeyOf(args []any) bool {
	rows := rowsOf(d.run)
	for _, column := range d.heldColumns {
		key, ok := rows.runKey(column, args)
		if !ok || d.heldKeys[column+"\x00"+key] {
			return true
		}
	}
	return false
}

// queueHeld queues the updates held back, in order, once their run is written.
func (d *batchDB) queueHeld() {
	for _, u := range d.held {
		d.batch.Queue(u.sql, u.args...)
	}
	d.held, d.heldKeys, d.heldColumns = nil, nil, nil
}
