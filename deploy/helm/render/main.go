// Command render prints a Helm chart's manifests the way `helm template` does, for the
// chart checks in CI (scripts/deploy-check.sh): no Helm binary can be installed on the
// project's machines (it is published only on GitHub and get.helm.sh, which they cannot
// reach), but Helm's engine is Go's text/template with the Sprig functions, and both come
// from Debian's packages. This program follows Helm 3's engine: the chart's values merged
// with -f files and --set pairs; .Values, .Release, .Chart, .Template and .Capabilities;
// Sprig (without env/expandenv) plus include, tpl, required, toYaml, fromYaml, toJson and
// lookup (empty, as in `helm template`); missing keys render empty; every template file
// parsed into one set named <chart>/templates/<file>; partials (_*) and NOTES.txt not
// printed; empty documents dropped.
//
//	render [-f values.yaml]... [--set a.b=c]... [--name release] [--namespace ns] CHART_DIR
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

type values = map[string]interface{}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var files, sets []string
	name, namespace, chartDir := "release", "default", ""
	for i := 0; i < len(args); i++ {
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs a value", args[i])
			}
			i++
			return args[i], nil
		}
		var err error
		var v string
		switch args[i] {
		case "-f", "--values":
			v, err = next()
			files = append(files, v)
		case "--set":
			v, err = next()
			sets = append(sets, v)
		case "--name":
			name, err = next()
		case "--namespace":
			namespace, err = next()
		default:
			if strings.HasPrefix(args[i], "-") || chartDir != "" {
				return fmt.Errorf("unexpected argument %q", args[i])
			}
			chartDir = args[i]
		}
		if err != nil {
			return err
		}
	}
	if chartDir == "" {
		return errors.New("usage: render [-f values.yaml]... [--set a.b=c]... [--name release] CHART_DIR")
	}

	var meta values
	if err := readYaml(filepath.Join(chartDir, "Chart.yaml"), &meta); err != nil {
		return err
	}
	vals := values{}
	if err := readYaml(filepath.Join(chartDir, "values.yaml"), &vals); err != nil {
		return err
	}
	for _, f := range files {
		var over values
		if err := readYaml(f, &over); err != nil {
			return err
		}
		vals = merge(vals, over)
	}
	for _, s := range sets {
		if err := set(vals, s); err != nil {
			return err
		}
	}

	chartName := fmt.Sprint(meta["name"])
	chart := values{}
	for k, v := range meta {
		// Helm exposes Chart.yaml's fields capitalised: .Chart.Name, .Chart.AppVersion.
		chart[strings.ToUpper(k[:1])+k[1:]] = v
	}
	top := values{
		"Values": vals,
		"Chart":  chart,
		"Release": values{
			"Name": name, "Namespace": namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Capabilities": values{
			"KubeVersion": values{"Version": "v1.30.0", "Major": "1", "Minor": "30"},
		},
	}

	paths, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		return err
	}
	sort.Strings(paths)
	t := template.New("chart").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	includeDepth := 0
	funcs["include"] = func(name string, data interface{}) (string, error) {
		includeDepth++
		defer func() { includeDepth-- }()
		if includeDepth > 1000 {
			return "", fmt.Errorf("include %q: too deep", name)
		}
		var buf bytes.Buffer
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		c, err := t.Clone()
		if err != nil {
			return "", err
		}
		c, err = c.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = c.Execute(&buf, data)
		return buf.String(), err
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	funcs["toYaml"] = func(v interface{}) string {
		out, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(out), "\n")
	}
	funcs["fromYaml"] = func(s string) values {
		m := values{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["lookup"] = func(...interface{}) values { return values{} }
	t.Funcs(funcs)

	var names []string
	for _, p := range paths {
		base := filepath.Base(p)
		text, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		tname := chartName + "/templates/" + base
		if _, err := t.New(tname).Parse(string(text)); err != nil {
			return err
		}
		if !strings.HasPrefix(base, "_") && base != "NOTES.txt" &&
			(strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml")) {
			names = append(names, tname)
		}
	}

	var out strings.Builder
	for _, tname := range names {
		top["Template"] = values{"Name": tname, "BasePath": chartName + "/templates"}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, tname, top); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		for _, doc := range splitDocs(text) {
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", tname, doc)
		}
	}
	_, err = os.Stdout.WriteString(out.String())
	return err
}

// splitDocs splits a rendered file at its `---` lines and drops documents that hold
// nothing but blank lines and comments.
func splitDocs(text string) []string {
	var docs []string
	var cur []string
	flush := func() {
		doc := strings.TrimSpace(strings.Join(cur, "\n"))
		keep := false
		for _, l := range strings.Split(doc, "\n") {
			l = strings.TrimSpace(l)
			if l != "" && !strings.HasPrefix(l, "#") {
				keep = true
			}
		}
		if keep {
			docs = append(docs, doc)
		}
		cur = nil
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimRight(l, " ") == "---" {
			flush()
			continue
		}
		cur = append(cur, l)
	}
	flush()
	return docs
}

func readYaml(path string, into *values) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if *into == nil {
		*into = values{}
	}
	return nil
}

// merge lays over onto base, maps key by key (as Helm coalesces values).
func merge(base, over values) values {
	for k, v := range over {
		if bm, ok := base[k].(values); ok {
			if om, ok := v.(values); ok {
				base[k] = merge(bm, om)
				continue
			}
		}
		base[k] = v
	}
	return base
}

// set applies one `--set a.b.c=value` (the value read as YAML: numbers, booleans, strings).
func set(vals values, pair string) error {
	eq := strings.Index(pair, "=")
	if eq < 1 {
		return fmt.Errorf("--set %q: want key=value", pair)
	}
	keys := strings.Split(pair[:eq], ".")
	raw := pair[eq+1:]
	var v interface{} = raw
	if raw == "true" || raw == "false" {
		v = raw == "true"
	} else if n, err := strconv.ParseFloat(raw, 64); err == nil && !strings.HasPrefix(raw, "0") {
		v = n
	}
	m := vals
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(values)
		if !ok {
			next = values{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
	return nil
}
