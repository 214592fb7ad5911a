// k8s-apply-check: the Kubernetes oracle for etcd-lens's apply-ready output
// (`etcd-lens get --for-apply`, `etcd-lens export`; issue #19). Every YAML
// document is decoded the way the API server's strict JSON serializer does it
// (k8s.io/apimachinery, unknown and duplicate fields are errors) into its typed
// object from k8s.io/api (plus CustomResourceDefinition and APIService), then
// re-encoded and compared with the input: whatever the typed object cannot
// hold, or holds differently, is reported.
//
// Built from its Go module (go.mod pins the modules; scripts/setup.sh fills
// the module cache, and the tests build it offline with Go 1.26):
//
//	GOPROXY=off /usr/local/go/bin/go build -o k8s-apply-check .
//
// Usage:
//
//	k8s-apply-check [-allow-unknown] [FILE...]   (no FILE: standard input)
//
// Input: multi-document YAML (or JSON), documents separated by `---` lines,
// split by apimachinery's own YAML reader (as kubectl does). Empty documents
// (only comments or blank lines) are skipped and get no index.
//
// Output: one JSON line per document, in input order, index counting the
// non-empty documents of all inputs together from 0:
//
//	{"index":0,"apiVersion":"v1","kind":"ConfigMap","name":"x","namespace":"y","ok":true,"typed":true}
//	{"index":1,"file":"b.yaml","apiVersion":"apps/v1","kind":"Deployment","name":"d","ok":false,"typed":true,"error":"..."}
//
// "file" is there when the document came from a FILE argument; name and
// namespace when metadata has them. "typed" is false only for a kind the
// scheme does not know that -allow-unknown let through after a parse-only
// check. Exit status: 0 when every document is ok, 1 when any is not, 2 on a
// usage or I/O error.
//
// Checks, per document, in this order (the first failure is the error):
//  1. YAML to JSON with sigs.k8s.io/yaml's YAMLToJSONStrict: invalid YAML and
//     duplicate keys fail (the API server's strict YAML decoding does the
//     same check).
//  2. A JSON object with apiVersion and kind.
//  3. The kind is in the scheme, else "not a built-in kind" (with
//     -allow-unknown: ok, typed false, nothing more is checked).
//  4. Strict decode with apimachinery's serializer/json (Strict: true):
//     unknown fields, duplicate fields, case-mismatched field names and
//     values of the wrong type fail.
//  5. Re-encode with the same serializer and compare with the input JSON
//     (see equal below for what the comparison forgives, and why).
//
// A v1 List's items are checked like documents (its error names the item).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"sort"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	admissionv1beta1 "k8s.io/api/admission/v1beta1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	admissionregistrationv1alpha1 "k8s.io/api/admissionregistration/v1alpha1"
	admissionregistrationv1beta1 "k8s.io/api/admissionregistration/v1beta1"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apidiscoveryv2beta1 "k8s.io/api/apidiscovery/v2beta1"
	apiserverinternalv1alpha1 "k8s.io/api/apiserverinternal/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	appsv1beta2 "k8s.io/api/apps/v1beta2"
	authenticationv1 "k8s.io/api/authentication/v1"
	authenticationv1alpha1 "k8s.io/api/authentication/v1alpha1"
	authenticationv1beta1 "k8s.io/api/authentication/v1beta1"
	authorizationv1 "k8s.io/api/authorization/v1"
	authorizationv1beta1 "k8s.io/api/authorization/v1beta1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	batchv1beta1 "k8s.io/api/batch/v1beta1"
	certificatesv1 "k8s.io/api/certificates/v1"
	certificatesv1alpha1 "k8s.io/api/certificates/v1alpha1"
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	coordinationv1 "k8s.io/api/coordination/v1"
	coordinationv1alpha2 "k8s.io/api/coordination/v1alpha2"
	coordinationv1beta1 "k8s.io/api/coordination/v1beta1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	discoveryv1beta1 "k8s.io/api/discovery/v1beta1"
	eventsv1 "k8s.io/api/events/v1"
	eventsv1beta1 "k8s.io/api/events/v1beta1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	flowcontrolv1beta1 "k8s.io/api/flowcontrol/v1beta1"
	flowcontrolv1beta2 "k8s.io/api/flowcontrol/v1beta2"
	flowcontrolv1beta3 "k8s.io/api/flowcontrol/v1beta3"
	imagepolicyv1alpha1 "k8s.io/api/imagepolicy/v1alpha1"
	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	nodev1 "k8s.io/api/node/v1"
	nodev1alpha1 "k8s.io/api/node/v1alpha1"
	nodev1beta1 "k8s.io/api/node/v1beta1"
	policyv1 "k8s.io/api/policy/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1alpha1 "k8s.io/api/rbac/v1alpha1"
	rbacv1beta1 "k8s.io/api/rbac/v1beta1"
	resourcev1 "k8s.io/api/resource/v1"
	resourcev1alpha3 "k8s.io/api/resource/v1alpha3"
	resourcev1beta1 "k8s.io/api/resource/v1beta1"
	resourcev1beta2 "k8s.io/api/resource/v1beta2"
	schedulingv1 "k8s.io/api/scheduling/v1"
	schedulingv1alpha3 "k8s.io/api/scheduling/v1alpha3"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	storagev1 "k8s.io/api/storage/v1"
	storagev1alpha1 "k8s.io/api/storage/v1alpha1"
	storagev1beta1 "k8s.io/api/storage/v1beta1"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	storagemigrationv1beta1 "k8s.io/api/storagemigration/v1beta1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsv1beta1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	apiregistrationv1beta1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1beta1"
	"sigs.k8s.io/yaml"
)

// Every group version of k8s.io/api at the pinned release (each directory with
// a register.go), then the two API-server-side groups whose objects live in
// etcd too. Listed here rather than taken from client-go's
// kubernetes/scheme, which would pull client-go and its dependencies into the
// module download for a list of AddToScheme calls.
var addToScheme = []func(*runtime.Scheme) error{
	admissionv1.AddToScheme, admissionv1beta1.AddToScheme,
	admissionregistrationv1.AddToScheme, admissionregistrationv1alpha1.AddToScheme, admissionregistrationv1beta1.AddToScheme,
	apidiscoveryv2.AddToScheme, apidiscoveryv2beta1.AddToScheme,
	apiserverinternalv1alpha1.AddToScheme,
	appsv1.AddToScheme, appsv1beta1.AddToScheme, appsv1beta2.AddToScheme,
	authenticationv1.AddToScheme, authenticationv1alpha1.AddToScheme, authenticationv1beta1.AddToScheme,
	authorizationv1.AddToScheme, authorizationv1beta1.AddToScheme,
	autoscalingv1.AddToScheme, autoscalingv2.AddToScheme,
	batchv1.AddToScheme, batchv1beta1.AddToScheme,
	certificatesv1.AddToScheme, certificatesv1alpha1.AddToScheme, certificatesv1beta1.AddToScheme,
	coordinationv1.AddToScheme, coordinationv1alpha2.AddToScheme, coordinationv1beta1.AddToScheme,
	corev1.AddToScheme,
	discoveryv1.AddToScheme, discoveryv1beta1.AddToScheme,
	eventsv1.AddToScheme, eventsv1beta1.AddToScheme,
	extensionsv1beta1.AddToScheme,
	flowcontrolv1.AddToScheme, flowcontrolv1beta1.AddToScheme, flowcontrolv1beta2.AddToScheme, flowcontrolv1beta3.AddToScheme,
	imagepolicyv1alpha1.AddToScheme,
	lifecyclev1alpha1.AddToScheme,
	networkingv1.AddToScheme, networkingv1beta1.AddToScheme,
	nodev1.AddToScheme, nodev1alpha1.AddToScheme, nodev1beta1.AddToScheme,
	policyv1.AddToScheme, policyv1beta1.AddToScheme,
	rbacv1.AddToScheme, rbacv1alpha1.AddToScheme, rbacv1beta1.AddToScheme,
	resourcev1.AddToScheme, resourcev1alpha3.AddToScheme, resourcev1beta1.AddToScheme, resourcev1beta2.AddToScheme,
	schedulingv1.AddToScheme, schedulingv1alpha3.AddToScheme, schedulingv1beta1.AddToScheme,
	storagev1.AddToScheme, storagev1alpha1.AddToScheme, storagev1beta1.AddToScheme,
	storagemigrationv1.AddToScheme, storagemigrationv1beta1.AddToScheme,
	apiextensionsv1.AddToScheme, apiextensionsv1beta1.AddToScheme,
	apiregistrationv1.AddToScheme, apiregistrationv1beta1.AddToScheme,
}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range addToScheme {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	// The group-less meta kinds (Status, WatchEvent, ...), as client-go's scheme has them.
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return s
}

type result struct {
	Index      int    `json:"index"`
	File       string `json:"file,omitempty"`
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	OK         bool   `json:"ok"`
	Typed      bool   `json:"typed"`
	Error      string `json:"error,omitempty"`
}

type checker struct {
	scheme       *runtime.Scheme
	serializer   *kjson.Serializer
	allowUnknown bool
}

func main() {
	allowUnknown := flag.Bool("allow-unknown", false, "accept a kind the scheme does not know after a parse-only check")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: k8s-apply-check [-allow-unknown] [FILE...]  (no FILE: standard input)")
		flag.PrintDefaults()
	}
	flag.Parse()
	scheme := newScheme()
	c := &checker{
		scheme: scheme,
		serializer: kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
			kjson.SerializerOptions{Yaml: false, Pretty: false, Strict: true}),
		allowUnknown: *allowUnknown,
	}
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	index, failed := 0, false
	run := func(name string, r io.Reader) {
		docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
		for {
			doc, err := docs.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				out.Flush()
				fmt.Fprintf(os.Stderr, "k8s-apply-check: reading %s: %v\n", name, err)
				os.Exit(2)
			}
			if empty(doc) {
				continue
			}
			res := c.check(doc)
			res.Index = index
			if name != "" {
				res.File = name
			}
			index++
			failed = failed || !res.OK
			if err := enc.Encode(res); err != nil {
				fmt.Fprintln(os.Stderr, "k8s-apply-check: writing:", err)
				os.Exit(2)
			}
		}
	}
	if flag.NArg() == 0 {
		run("", os.Stdin)
	}
	for _, path := range flag.Args() {
		f, err := os.Open(path)
		if err != nil {
			out.Flush()
			fmt.Fprintln(os.Stderr, "k8s-apply-check:", err)
			os.Exit(2)
		}
		run(path, f)
		f.Close()
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "k8s-apply-check: writing:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// empty: a document of only blank lines, comments and document markers.
func empty(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") && t != "---" && t != "..." {
			return false
		}
	}
	return true
}

func (c *checker) check(doc []byte) (res result) {
	res.Typed = true
	fail := func(format string, a ...any) result {
		res.OK, res.Error = false, fmt.Sprintf(format, a...)
		return res
	}
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		// Name the document from the lenient conversion when it has one.
		if lenient, err := yaml.YAMLToJSON(doc); err == nil {
			var head struct {
				APIVersion, Kind any
				Metadata         struct{ Name, Namespace any }
			}
			if json.Unmarshal(lenient, &head) == nil {
				res.APIVersion, _ = head.APIVersion.(string)
				res.Kind, _ = head.Kind.(string)
				res.Name, _ = head.Metadata.Name.(string)
				res.Namespace, _ = head.Metadata.Namespace.(string)
			}
		}
		return fail("%s", strings.TrimPrefix(err.Error(), "error converting YAML to JSON: "))
	}
	return c.checkJSON(data, res)
}

func (c *checker) checkJSON(data []byte, res result) result {
	fail := func(format string, a ...any) result {
		res.OK, res.Error = false, fmt.Sprintf(format, a...)
		return res
	}
	input, err := decodeGeneric(data)
	if err != nil {
		return fail("json: %v", err)
	}
	obj, isObj := input.(map[string]any)
	if !isObj {
		return fail("a document must be a JSON object, not %s", kindOf(input))
	}
	res.APIVersion, _ = obj["apiVersion"].(string)
	res.Kind, _ = obj["kind"].(string)
	if meta, isMeta := obj["metadata"].(map[string]any); isMeta {
		res.Name, _ = meta["name"].(string)
		res.Namespace, _ = meta["namespace"].(string)
	}
	if res.APIVersion == "" || res.Kind == "" {
		return fail("apiVersion and kind are required (strings)")
	}
	gv, err := schema.ParseGroupVersion(res.APIVersion)
	if err != nil {
		return fail("apiVersion: %v", err)
	}
	if !c.scheme.Recognizes(gv.WithKind(res.Kind)) {
		if c.allowUnknown {
			res.OK, res.Typed = true, false
			return res
		}
		return fail("not a built-in kind: %s %s", res.APIVersion, res.Kind)
	}
	typed, _, err := c.serializer.Decode(data, nil, nil)
	if err != nil {
		return fail("decode: %v", err)
	}
	var buf bytes.Buffer
	if err := c.serializer.Encode(typed, &buf); err != nil {
		return fail("re-encode: %v", err)
	}
	output, err := decodeGeneric(buf.Bytes())
	if err != nil {
		return fail("re-encoded JSON: %v", err)
	}
	if diff := firstDiff("", input, output); diff != "" {
		return fail("the typed round trip changes the document: %s", diff)
	}
	if list, isList := typed.(*corev1.List); isList && gv.Group == "" && gv.Version == "v1" {
		for i, item := range list.Items {
			sub := c.checkJSON(item.Raw, result{Typed: true})
			if !sub.OK {
				return fail("items[%d] (%s %s %s): %s", i, sub.APIVersion, sub.Kind, sub.Name, sub.Error)
			}
		}
	}
	res.OK = true
	return res
}

func decodeGeneric(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// zero: the values Go's encoding/json writes for a field it holds no value in
// (null for nil pointers, maps and slices, and for a zero metav1.Time; "", 0,
// false; {} for a struct without omitempty, [] for a non-nil empty slice).
func zero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case string:
		return v == ""
	case json.Number:
		r, ok := new(big.Rat).SetString(v.String())
		return ok && r.Sign() == 0
	case []any:
		return len(v) == 0
	case map[string]any:
		for _, x := range v {
			if !zero(x) {
				return false
			}
		}
		return true
	}
	return false
}

// firstDiff compares the input with the re-encoded document and describes
// the first difference ("" when none). What it forgives, and only this:
//
//   - Zero values (see zero; an object counts as zero when all its members
//     are): a member present on one side only whose value is zero, and two
//     zero values of different JSON kinds. The typed round trip drops zero
//     values of omitempty fields (`data: {}`, `args: []`, `namespace: ""`,
//     explicit nulls) and writes zero values of fields without omitempty
//     (`metadata.creationTimestamp: null`, `status: {}`, `strategy: {}`, a
//     container's `resources: {}`, a Service port's `targetPort: 0`), and
//     `metadata: null` comes back as `{"creationTimestamp": null}`. Go's
//     decoding makes each such value and its absence the same object, so the
//     difference is not one the API server could see either.
//   - Numbers compare by value (3 and 3.0 are equal). Strings, booleans,
//     array lengths and array elements (in order) compare exactly.
//
// Everything else is a difference: a value the typed object changes (a
// timestamp with fractional seconds or an offset, which metav1.Time writes
// back in whole seconds UTC; a quantity not in canonical form, like 1000m for
// 1), a non-zero member on one side only, or a non-zero value of another JSON
// kind. Etcd holds objects as the API server wrote them, already in those
// canonical forms, so such a difference points at the document, not at the
// comparison.
func firstDiff(path string, in, out any) string {
	if zero(in) && zero(out) {
		return ""
	}
	switch a := in.(type) {
	case map[string]any:
		b, ok := out.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(a)+len(b))
		for k := range a {
			keys = append(keys, k)
		}
		for k := range b {
			if _, inA := a[k]; !inA {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			x, inA := a[k]
			y, inB := b[k]
			p := path + "." + k
			switch {
			case !inB:
				if !zero(x) {
					return fmt.Sprintf("%s: input %s, dropped by the typed object", p, show(x))
				}
			case !inA:
				if !zero(y) {
					return fmt.Sprintf("%s: absent from the input, re-encoded %s", p, show(y))
				}
			default:
				if d := firstDiff(p, x, y); d != "" {
					return d
				}
			}
		}
		return ""
	case []any:
		b, ok := out.([]any)
		if !ok || len(a) != len(b) {
			break
		}
		for i := range a {
			if d := firstDiff(fmt.Sprintf("%s[%d]", path, i), a[i], b[i]); d != "" {
				return d
			}
		}
		return ""
	case json.Number:
		if b, ok := out.(json.Number); ok {
			x, okX := new(big.Rat).SetString(a.String())
			y, okY := new(big.Rat).SetString(b.String())
			if okX && okY && x.Cmp(y) == 0 {
				return ""
			}
		}
	case string, bool:
		if in == out {
			return ""
		}
	}
	return fmt.Sprintf("%s: input %s, re-encoded %s", pathOr(path), show(in), show(out))
}

func pathOr(p string) string {
	if p == "" {
		return "(document)"
	}
	return p
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	}
	return "an object"
}

// show: a value as JSON, cut to 120 bytes.
func show(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}
