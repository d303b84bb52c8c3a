package workflows

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWorkflowsStayDeterministic is the lint rule of style.md: workflow
// code imports only Temporal's workflow-side packages, pure standard
// library packages and the contract package, and calls no wall-clock,
// sleep, randomness or goroutines.
func TestWorkflowsStayDeterministic(t *testing.T) {
	allowed := map[string]bool{
		"errors": true, "fmt": true, "strings": true, "time": true, "sort": true, "slices": true, "maps": true, "strconv": true,
		"go.temporal.io/sdk/workflow": true, "go.temporal.io/sdk/temporal": true, "go.temporal.io/sdk/log": true,
		"go.temporal.io/api/enums/v1":           true,
		"github.com/ardent-cdc/ardent/contract": true,
	}
	forbiddenCalls := map[string]bool{"time.Now": true, "time.Sleep": true, "time.After": true, "time.NewTimer": true, "time.Tick": true}
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		checked++
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			require.True(t, allowed[path], "%s imports %s: workflows may not (see workflows/doc.go)", f, path)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement at %s: use workflow.Go", f, fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && forbiddenCalls[id.Name+"."+n.Sel.Name] {
					t.Errorf("%s: %s.%s at %s: use workflow.Now / workflow.Sleep / timers", f, id.Name, n.Sel.Name, fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
	require.Positive(t, checked)
}

// TestNoDatabaseCodeLinked: what the workflow code links, transitively, has
// no database driver, no metrics library and no project package but
// contract (design.md section 2), so replaying a workflow needs none of
// them and no activity change can alter a workflow's commands.
func TestNoDatabaseCodeLinked(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/ardent-cdc/ardent/contract", "go list -deps printed: %s", out)
	for _, d := range deps {
		require.NotContains(t, d, "jackc", "workflows links %s", d)
		require.NotContains(t, d, "prometheus", "workflows links %s", d)
		if strings.HasPrefix(d, "github.com/ardent-cdc/ardent/") {
			require.Contains(t, []string{"github.com/ardent-cdc/ardent/contract", "github.com/ardent-cdc/ardent/workflows"}, d,
				"workflows links the project package %s: it may use contract only", d)
		}
	}
}
