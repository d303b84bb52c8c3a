#!/usr/bin/env bash
# The import rules of style.md (boundaries 1 and 2) and issue 14, checked on
# the package graph (go list -deps) rather than on import lines, so a rule
# cannot be dodged through an intermediate package:
#   1. no package under internal/ depends on go.temporal.io/...;
#   2. workflows depends on no jackc or prometheus package and on no project
#      package but contract.
# Test files are not part of the graph (no -test): the rules are about what
# the worker and the workflows link, not about test helpers.
# Every package that breaks a rule is printed with one shortest import chain,
# so the line to remove can be found. Exit status: 0 when both rules hold,
# 1 when one is broken, 2 when go list fails.
# Usage: scripts/check-imports.sh   (from make lint)
set -euo pipefail
cd "$(dirname "$0")/.."

fail_list() { echo "check-imports: go list failed (above); the import rules were not checked" >&2; exit 2; }
MOD="$(go list -m)" || fail_list
CONTRACT="$MOD/contract"
WORKFLOWS="$MOD/workflows"

# graph ROOTS... prints "package import import ..." for every package in the
# dependency closure of ROOTS.
graph() { go list -deps -f '{{.ImportPath}}{{range .Imports}} {{.}}{{end}}' "$@"; }

# check RULE ROOTS... reads the graph on stdin and prints, for every root, the
# forbidden packages it reaches (the class of each decided by RULE), each with
# the shortest import chain from the root. Project paths are printed relative
# to the module. Prints nothing when nothing is forbidden.
check() {
  local rule="$1"; shift
  awk -v rule="$rule" -v mod="$MOD" -v contract="$CONTRACT" -v roots="$*" '
    function short(p) { return index(p, mod "/") == 1 ? substr(p, length(mod) + 2) : p }
    # class returns why root may not depend on p, or "" when it may.
    function class(p, root) {
      if (rule == "internal") return p ~ /^go\.temporal\.io\// ? "Temporal" : ""
      if (p == root || p == contract) return ""
      if (index(p, mod "/") == 1) return "project"
      if (p ~ /jackc/) return "jackc"
      if (p ~ /prometheus/) return "prometheus"
      return ""
    }
    function chain(p,   s) { s = short(p); while (p in parent) { p = parent[p]; s = short(p) " -> " s }; return s }
    { imports[$1] = ""; for (i = 2; i <= NF; i++) imports[$1] = imports[$1] " " $i }
    END {
      nroots = split(roots, rootv, " ")
      for (r = 1; r <= nroots; r++) {
        root = rootv[r]
        delete parent; delete seen; delete n; delete entries
        # Breadth first, imports in go list order (sorted), so the chain is
        # a shortest one and the output is stable.
        head = 1; tail = 1; queue[1] = root; seen[root] = 1
        while (head <= tail) {
          p = queue[head++]
          k = split(imports[p], deps, " ")
          for (i = 1; i <= k; i++) {
            d = deps[i]
            if (d in seen) continue
            seen[d] = 1; parent[d] = p; queue[++tail] = d
          }
        }
        total = 0
        for (h = 2; h <= tail; h++) {
          p = queue[h]; c = class(p, root)
          if (c == "") continue
          total++; n[c]++
          # Project packages are each printed (every one is a line to
          # remove somewhere); a third-party package only where the chain
          # enters its kind, i.e. where a package of another kind imports
          # it: the rest of pgx under pgx is noise.
          if (c == "project" || class(parent[p], root) != c) entries[c] = entries[c] sprintf("      %-48s %s\n", short(p), chain(p))
        }
        if (total == 0) continue
        printf "  %s depends on %d package%s it may not:\n", short(root), total, total == 1 ? "" : "s"
        split("project jackc prometheus Temporal", kinds, " ")
        for (j = 1; j <= 4; j++) {
          c = kinds[j]
          if (!(c in n)) continue
          if (c == "project") printf "    %d project package%s (only %s is allowed):\n", n[c], n[c] == 1 ? "" : "s", short(contract)
          else printf "    %d %s package%s, entered at:\n", n[c], c, n[c] == 1 ? "" : "s"
          printf "%s", entries[c]
        }
      }
    }'
}

# direct_culprits ROOT prints the imports of ROOT through which forbidden
# packages are reached (the first hop of each chain in the report on stdin),
# with the files of ROOT that import them: that is where a fix starts.
direct_culprits() {
  local root="$1" dir imp full files
  dir="$(go list -f '{{.Dir}}' "$root")"
  awk '{ for (i = 1; i <= NF; i++) if ($i == "->") { print $(i + 1); break } }' | sort -u |
    while read -r imp; do
      case "$imp" in *.*/*) full="$imp" ;; *) full="$MOD/$imp" ;; esac
      # shellcheck disable=SC2046
      files="$(cd "$dir" && grep -l --fixed-strings "\"$full\"" $(go list -f '{{join .GoFiles " "}}' "$root") | tr '\n' ' ' || true)"
      printf '      %s imports %s (%s)\n' "${root#"$MOD"/}" "$imp" "${files% }"
    done
}

status=0

internal_roots="$(go list ./internal/...)" || fail_list
internal_graph="$(graph ./internal/...)" || fail_list
# shellcheck disable=SC2086
report="$(check internal $internal_roots <<<"$internal_graph")"
if [ -n "$report" ]; then
  echo "check-imports: FAIL rule 1: packages under internal/ must not depend on Temporal (style.md, boundary 2):"
  echo "$report"
  status=1
else
  echo "check-imports: ok   rule 1: no package under internal/ depends on go.temporal.io"
fi

workflows_graph="$(graph "$WORKFLOWS")" || fail_list
report="$(check workflows "$WORKFLOWS" <<<"$workflows_graph")"
if [ -n "$report" ]; then
  echo "check-imports: FAIL rule 2: workflows may depend on no jackc or prometheus package and on no project package but contract (issue 14, item 1):"
  echo "$report"
  echo "    reached through these imports of workflows:"
  direct_culprits "$WORKFLOWS" <<<"$report"
  status=1
else
  echo "check-imports: ok   rule 2: workflows depends on no jackc or prometheus package and on no project package but contract"
fi

exit "$status"
