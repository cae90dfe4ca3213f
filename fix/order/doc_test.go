package order

import (
	"os"
	"strings"
	"testing"
)

// TestDocCoversScenarios keeps docs/orderstate.md in step with the tests:
// every scenario must appear, in backquotes, in its coverage table.
func TestDocCoversScenarios(t *testing.T) {
	doc, err := os.ReadFile("../../docs/orderstate.md")
	if os.IsNotExist(err) {
		t.Skip("docs/orderstate.md not found")
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range matrixScenarios {
		if !strings.Contains(string(doc), "`"+sc.name+"`") {
			t.Errorf("docs/orderstate.md does not list scenario %q", sc.name)
		}
		if sc.ref != "" && !strings.Contains(string(doc), "| "+sc.ref+" ") {
			t.Errorf("docs/orderstate.md does not list matrix %s", sc.ref)
		}
	}
}
