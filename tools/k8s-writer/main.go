// k8s-writer: Kubernetes objects written into a real etcd by the API server's
// own storage code (issue #16), so etcd-lens's decoding is tested against data
// that Kubernetes wrote, not data we encoded ourselves.
//
// The write path is kube-apiserver's, below the registry: the etcd3 store of
// k8s.io/apiserver/pkg/storage/storagebackend/factory, the storage codec of
// k8s.io/apiserver/pkg/server/storage (NewStorageCodec, media type
// application/vnd.kubernetes.protobuf, over client-go's scheme: the versioned
// built-in types, so memory and storage version are both the group's v1), and,
// for Secrets, the value transformers that
// k8s.io/apiserver/pkg/server/options/encryptionconfig's LoadEncryptionConfig
// builds from real EncryptionConfiguration files. What the registry would add
// before the store (uid, creationTimestamp, generation) is set here, fixed, so
// the output is the same on every run.
//
// Secrets of phase 5 go through KMS v2: an in-process fake plugin (kms.go) on
// k8s.io/kms's gRPC service, on a unix socket in a temporary directory, named
// by a real `kms: {apiVersion: v2}` provider that LoadEncryptionConfig dials.
//
// Some objects are also stored with the JSON serializer, as kube-apiserver
// does with --storage-media-type=application/json (the same NewStorageCodec,
// media type application/json) and as it always does for custom resources
// (apiextensions-apiserver's storage codec, unstructured.UnstructuredJSONScheme).
//
// Built from its Go module (go.mod pins k8s.io/apiserver; scripts/setup.sh
// fills the module cache and builds it, the tests build it offline with Go
// 1.26 when setup.sh's binary is not there):
//
//	GOPROXY=off /usr/local/go/bin/go build -o k8s-writer .
//
// Usage:
//
//	k8s-writer -endpoint http://127.0.0.1:PORT -config-dir DIR
//
// The endpoint must be on 127.0.0.1. DIR receives the EncryptionConfiguration
// files of the phases below (phase-1.yaml … phase-6.yaml); each phase loads its
// file with LoadEncryptionConfig, as an API server restarted with that
// --encryption-provider-config would, and writes its Secrets with it. Every
// later file keeps every earlier key, so the last one (final.yaml, a copy of
// phase-6.yaml) reads every Secret written (with the plugin running):
//
//	phase 1  identity                                  Secrets lens/plain-opaque, lens/plain-tls, lens/migrated
//	phase 2  aescbc key1                               lens/cbc-key1
//	phase 3  aesgcm gcm-key                            lens/gcm-key
//	phase 4  secretbox box-key                         lens/box-key
//	phase 5  kms v2 fake-kms (key ID fake-kms-key-1)   lens/kms-one, lens/kms-two
//	phase 6  aescbc key2 (key1 kept as second key)     lens/cbc-key2, and lens/migrated rewritten
//
// ConfigMaps, a Deployment, a Service and a ServiceAccount are written once,
// without encryption (the files name only secrets), protobuf. Then, with the
// JSON serializer and no encryption: ConfigMap lens/json-settings, Secret
// lens/json-plain, Deployment lens/json-web, and the custom resource
// example.com/v1 Widget lens/gizmo (key /registry/example.com/widgets/lens/gizmo).
//
// Output: one JSON line per key written, in writing order, the last write of a
// key winning (lens/migrated appears once, as phase 5 left it):
//
//	{"key":"/registry/secrets/lens/cbc-key1","resource":"secrets","provider":"aescbc",
//	 "keyName":"key1","phase":2,"config":"DIR/phase-2.yaml","modRevision":7,
//	 "mediaType":"application/vnd.kubernetes.protobuf","object":{...}}
//
// provider is "identity" for a plaintext value (keyName is then ""), "kms:v2"
// for the plugin's (keyName "fake-kms"). The tool checks the raw value in etcd
// starts with k8s:enc:<provider>:v1:<keyName>: (k8s:enc:kms:v2:<keyName>: for
// KMS; k8s\x00 for protobuf and { for JSON under identity) and exits 1
// otherwise. A KMS line also has "kms": the stored EncryptedObject as the
// apiserver's own generated type unmarshals it (keyID, encryptedDEKSourceType,
// annotations, the sizes of encryptedData and encryptedDEKSource). object is the store's Get
// of the key (the API server's read path: transformer, then codec) encoded by
// the scheme's JSON serializer (runtime.Encode with Codecs.LegacyCodec), as the
// API would serve it; its metadata.resourceVersion is the key's modRevision,
// which the store sets on read (it is never stored).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apiserver/pkg/server/options/encryptionconfig"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/apiserver/pkg/storage/value"
	"k8s.io/client-go/kubernetes/scheme"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The API server's --etcd-prefix default, its storage media types (protobuf,
// the default; JSON with --storage-media-type=application/json) and our namespace.
const (
	etcdPrefix = "/registry"
	protobufMT = runtime.ContentTypeProtobuf
	jsonMT     = runtime.ContentTypeJSON
	namespace  = "lens"
)

// Fixed key material (test keys, never real ones): 32-byte AES keys, a 32-byte
// secretbox key, base64 as the EncryptionConfiguration wants them.
const (
	cbcKey1 = "dGVzdC1rZXktb25lLWFlc2NiYy0zMi1ieXRlcy1sZW4=" // "test-key-one-aescbc-32-bytes-len"
	cbcKey2 = "dGVzdC1rZXktdHdvLWFlc2NiYy0zMi1ieXRlcy1sZW4=" // "test-key-two-aescbc-32-bytes-len"
	gcmKey  = "dGVzdC1rZXktYWVzZ2NtLTMyLWJ5dGVzLWxvbmctLS0=" // "test-key-aesgcm-32-bytes-long---"
	boxKey  = "dGVzdC1rZXktc2VjcmV0Ym94LTMyLWJ5dGVzLWxvbmc=" // "test-key-secretbox-32-bytes-long"
)

var (
	aescbc1   = "- aescbc:\n        keys:\n        - name: key1\n          secret: " + cbcKey1 + "\n"
	aescbc21  = "- aescbc:\n        keys:\n        - name: key2\n          secret: " + cbcKey2 + "\n        - name: key1\n          secret: " + cbcKey1 + "\n"
	aesgcm    = "- aesgcm:\n        keys:\n        - name: gcm-key\n          secret: " + gcmKey + "\n"
	secretbox = "- secretbox:\n        keys:\n        - name: box-key\n          secret: " + boxKey + "\n"
	identity  = "- identity: {}\n"
)

// A phase: its secrets providers (first one writes) and what it writes.
type phase struct {
	providers []string
	provider  string
	keyName   string
	secrets   []*corev1.Secret
	// updates rewrites existing Secrets under this phase's config.
	updates []string
}

type line struct {
	Key         string          `json:"key"`
	Resource    string          `json:"resource"`
	Provider    string          `json:"provider"`
	KeyName     string          `json:"keyName"`
	Phase       int             `json:"phase"`
	Config      string          `json:"config,omitempty"`
	ModRevision int64           `json:"modRevision"`
	MediaType   string          `json:"mediaType"`
	KMS         *kmsEnvelope    `json:"kms,omitempty"`
	Object      json.RawMessage `json:"object"`
}

func main() {
	endpoint := flag.String("endpoint", "", "etcd client URL, http://127.0.0.1:PORT")
	configDir := flag.String("config-dir", "", "where the EncryptionConfiguration files are written")
	flag.Parse()
	if err := run(*endpoint, *configDir); err != nil {
		fmt.Fprintln(os.Stderr, "k8s-writer:", err)
		os.Exit(1)
	}
}

func run(endpoint, configDir string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("-endpoint must be a URL on 127.0.0.1, got %q", endpoint)
	}
	if configDir == "" {
		return fmt.Errorf("-config-dir is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	raw, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 10 * time.Second})
	if err != nil {
		return fmt.Errorf("etcd client: %w", err)
	}
	defer raw.Close()

	kmsEndpoint, stopKMS, err := startKMS()
	if err != nil {
		return err
	}
	defer stopKMS()
	kms := kmsProvider(kmsEndpoint)

	w := &writer{endpoint: endpoint, raw: raw, latest: map[string]int{}}
	phases := []phase{
		{providers: []string{identity}, provider: "identity",
			secrets: []*corev1.Secret{plainOpaque(), plainTLS(), migrated()}},
		{providers: []string{aescbc1, identity}, provider: "aescbc", keyName: "key1",
			secrets: []*corev1.Secret{encSecret("cbc-key1", "uid-secret-cbc-key1")}},
		{providers: []string{aesgcm, aescbc1, identity}, provider: "aesgcm", keyName: "gcm-key",
			secrets: []*corev1.Secret{encSecret("gcm-key", "uid-secret-gcm-key")}},
		{providers: []string{secretbox, aesgcm, aescbc1, identity}, provider: "secretbox", keyName: "box-key",
			secrets: []*corev1.Secret{encSecret("box-key", "uid-secret-box-key")}},
		{providers: []string{kms, secretbox, aesgcm, aescbc1, identity}, provider: "kms:v2", keyName: kmsName,
			secrets: []*corev1.Secret{encSecret("kms-one", "uid-secret-kms-one"), encSecret("kms-two", "uid-secret-kms-two")}},
		{providers: []string{aescbc21, kms, secretbox, aesgcm, identity}, provider: "aescbc", keyName: "key2",
			secrets: []*corev1.Secret{encSecret("cbc-key2", "uid-secret-cbc-key2")},
			updates: []string{"migrated"}},
	}
	var last string
	for i, p := range phases {
		n := i + 1
		cfg := "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources:\n    - secrets\n    providers:\n    " + strings.Join(p.providers, "    ")
		path := filepath.Join(configDir, fmt.Sprintf("phase-%d.yaml", n))
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			return err
		}
		last = cfg
		// The loader's KMS health probes run until this phase's context ends.
		phaseCtx, endPhase := context.WithCancel(ctx)
		enc, err := encryptionconfig.LoadEncryptionConfig(phaseCtx, path, false, "k8s-writer")
		if err != nil {
			endPhase()
			return fmt.Errorf("phase %d: %w", n, err)
		}
		tr := enc.Transformers[schema.GroupResource{Resource: "secrets"}]
		if tr == nil {
			endPhase()
			return fmt.Errorf("phase %d: no transformer for secrets", n)
		}
		codec, err := storageCodec(protobufMT, corev1.SchemeGroupVersion)
		if err != nil {
			endPhase()
			return err
		}
		s, destroy, err := w.store(schema.GroupResource{Resource: "secrets"}, "/secrets", codec, tr,
			func() runtime.Object { return &corev1.Secret{} }, func() runtime.Object { return &corev1.SecretList{} })
		if err != nil {
			endPhase()
			return fmt.Errorf("phase %d: %w", n, err)
		}
		done := func() { destroy(); endPhase() }
		for _, sec := range p.secrets {
			key := "/secrets/" + namespace + "/" + sec.Name
			if err := s.Create(ctx, key, sec, &corev1.Secret{}, 0); err != nil {
				done()
				return fmt.Errorf("creating %s: %w", key, err)
			}
			w.record(line{Key: etcdPrefix + key, Resource: "secrets", Provider: p.provider, KeyName: p.keyName, Phase: n, Config: path, MediaType: protobufMT})
		}
		for _, name := range p.updates {
			key := "/secrets/" + namespace + "/" + name
			err := s.GuaranteedUpdate(ctx, key, &corev1.Secret{}, false, nil,
				storage.SimpleUpdate(func(in runtime.Object) (runtime.Object, error) {
					sec := in.(*corev1.Secret).DeepCopy()
					sec.Data["rotated"] = []byte("after the switch to key2")
					sec.Labels["phase"] = "6"
					return sec, nil
				}), nil)
			if err != nil {
				done()
				return fmt.Errorf("updating %s: %w", key, err)
			}
			w.record(line{Key: etcdPrefix + key, Resource: "secrets", Provider: p.provider, KeyName: p.keyName, Phase: n, Config: path, MediaType: protobufMT})
		}
		// Read back through the same store (this phase's transformer reads all earlier keys).
		if err := w.readBack(ctx, s, func() runtime.Object { return &corev1.Secret{} }, "secrets", protobufMT, servedCodec); err != nil {
			done()
			return err
		}
		done()
	}
	if err := os.WriteFile(filepath.Join(configDir, "final.yaml"), []byte(last), 0o600); err != nil {
		return err
	}

	plain := []struct {
		gv       schema.GroupVersion
		resource string
		prefix   string
		objs     []runtime.Object
		newFunc  func() runtime.Object
		listFunc func() runtime.Object
	}{
		{corev1.SchemeGroupVersion, "configmaps", "/configmaps", []runtime.Object{configMapSettings(), configMapBinary()},
			func() runtime.Object { return &corev1.ConfigMap{} }, func() runtime.Object { return &corev1.ConfigMapList{} }},
		{appsv1.SchemeGroupVersion, "deployments", "/deployments", []runtime.Object{deployment()},
			func() runtime.Object { return &appsv1.Deployment{} }, func() runtime.Object { return &appsv1.DeploymentList{} }},
		// kube-apiserver's Service registry keeps Services under services/specs.
		{corev1.SchemeGroupVersion, "services", "/services/specs", []runtime.Object{service()},
			func() runtime.Object { return &corev1.Service{} }, func() runtime.Object { return &corev1.ServiceList{} }},
		{corev1.SchemeGroupVersion, "serviceaccounts", "/serviceaccounts", []runtime.Object{serviceAccount()},
			func() runtime.Object { return &corev1.ServiceAccount{} }, func() runtime.Object { return &corev1.ServiceAccountList{} }},
	}
	for _, r := range plain {
		codec, err := storageCodec(protobufMT, r.gv)
		if err != nil {
			return err
		}
		if err := w.writePlain(ctx, schema.GroupResource{Group: r.gv.Group, Resource: r.resource}, r.prefix, codec, protobufMT,
			servedCodec, r.objs, r.newFunc, r.listFunc); err != nil {
			return err
		}
	}

	// The JSON serializer: the built-in types through the same NewStorageCodec
	// with --storage-media-type=application/json, and a custom resource through
	// apiextensions-apiserver's codec (NewCRDRESTOptionsGetter: encoder and
	// decoder unstructured.UnstructuredJSONScheme; the CBOR alternative is behind
	// the CBORServingAndStorage feature gate, off by default).
	jsonTyped := []struct {
		gv       schema.GroupVersion
		resource string
		objs     []runtime.Object
		newFunc  func() runtime.Object
		listFunc func() runtime.Object
	}{
		{corev1.SchemeGroupVersion, "configmaps", []runtime.Object{jsonConfigMap()},
			func() runtime.Object { return &corev1.ConfigMap{} }, func() runtime.Object { return &corev1.ConfigMapList{} }},
		{corev1.SchemeGroupVersion, "secrets", []runtime.Object{jsonSecret()},
			func() runtime.Object { return &corev1.Secret{} }, func() runtime.Object { return &corev1.SecretList{} }},
		{appsv1.SchemeGroupVersion, "deployments", []runtime.Object{jsonDeployment()},
			func() runtime.Object { return &appsv1.Deployment{} }, func() runtime.Object { return &appsv1.DeploymentList{} }},
	}
	for _, r := range jsonTyped {
		codec, err := storageCodec(jsonMT, r.gv)
		if err != nil {
			return err
		}
		if err := w.writePlain(ctx, schema.GroupResource{Group: r.gv.Group, Resource: r.resource}, "/"+r.resource, codec, jsonMT,
			servedCodec, r.objs, r.newFunc, r.listFunc); err != nil {
			return err
		}
	}
	crCodec := runtime.NewCodec(unstructured.UnstructuredJSONScheme, unstructured.UnstructuredJSONScheme)
	widgets := schema.GroupResource{Group: "example.com", Resource: "widgets"}
	if err := w.writePlain(ctx, widgets, "/example.com/widgets", crCodec, jsonMT, unstructured.UnstructuredJSONScheme,
		[]runtime.Object{widget()},
		func() runtime.Object { return &unstructured.Unstructured{} },
		func() runtime.Object { return &unstructured.UnstructuredList{} }); err != nil {
		return err
	}

	enc := json.NewEncoder(os.Stdout)
	for _, l := range w.lines {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return nil
}

type writer struct {
	endpoint string
	raw      *clientv3.Client
	lines    []line
	// latest: the index in lines of each key's last write.
	latest map[string]int
}

func (w *writer) record(l line) {
	if i, ok := w.latest[l.Key]; ok {
		w.lines[i] = l
		return
	}
	w.latest[l.Key] = len(w.lines)
	w.lines = append(w.lines, l)
}

// servedCodec renders the built-in types as the API serves them (JSON).
var servedCodec runtime.Encoder = scheme.Codecs.LegacyCodec(corev1.SchemeGroupVersion, appsv1.SchemeGroupVersion)

// storageCodec is kube-apiserver's storage codec for a built-in group version:
// NewStorageCodec over client-go's scheme with --storage-media-type mediaType.
func storageCodec(mediaType string, gv schema.GroupVersion) (runtime.Codec, error) {
	codec, _, err := serverstorage.NewStorageCodec(serverstorage.StorageCodecConfig{
		StorageMediaType:  mediaType,
		StorageSerializer: scheme.Codecs,
		StorageVersion:    gv,
		MemoryVersion:     gv,
	})
	if err != nil {
		return nil, fmt.Errorf("storage codec %s for %s: %w", mediaType, gv, err)
	}
	return codec, nil
}

// store is the etcd3 store kube-apiserver makes for one resource under
// prefix (below --etcd-prefix): its storage codec and transformer (nil: identity).
func (w *writer) store(gr schema.GroupResource, prefix string, codec runtime.Codec, tr value.Transformer,
	newFunc, newListFunc func() runtime.Object) (storage.Interface, factory.DestroyFunc, error) {
	cfg := storagebackend.NewDefaultConfig(etcdPrefix, codec)
	cfg.Transport.ServerList = []string{w.endpoint}
	// No compactor: the snapshot should keep every revision the tool wrote.
	cfg.CompactionInterval = 0
	cfg.Transformer = tr
	rc := cfg.ForResource(gr)
	return factory.Create(*rc, newFunc, newListFunc, prefix)
}

// writePlain creates objs, unencrypted (no transformer: the store's default,
// identity, as for every resource the EncryptionConfiguration does not name),
// and reads them back.
func (w *writer) writePlain(ctx context.Context, gr schema.GroupResource, prefix string, codec runtime.Codec,
	mediaType string, served runtime.Encoder, objs []runtime.Object, newFunc, listFunc func() runtime.Object) error {
	s, destroy, err := w.store(gr, prefix, codec, nil, newFunc, listFunc)
	if err != nil {
		return err
	}
	defer destroy()
	for _, o := range objs {
		m, err := apimeta.Accessor(o)
		if err != nil {
			return err
		}
		key := prefix + "/" + m.GetNamespace() + "/" + m.GetName()
		if err := s.Create(ctx, key, o, newFunc(), 0); err != nil {
			return fmt.Errorf("creating %s: %w", key, err)
		}
		w.record(line{Key: etcdPrefix + key, Resource: gr.Resource, Provider: "identity", MediaType: mediaType})
	}
	return w.readBack(ctx, s, newFunc, gr.Resource, mediaType, served)
}

// readBack fills in the object and modRevision of every recorded line of
// `resource` stored as mediaType through the store's Get (the object rendered
// by served), and checks the raw value's prefix.
func (w *writer) readBack(ctx context.Context, s storage.Interface, newFunc func() runtime.Object, resource, mediaType string,
	served runtime.Encoder) error {
	for i := range w.lines {
		l := &w.lines[i]
		if l.Resource != resource || l.MediaType != mediaType {
			continue
		}
		out := newFunc()
		if err := s.Get(ctx, strings.TrimPrefix(l.Key, etcdPrefix), storage.GetOptions{}, out); err != nil {
			return fmt.Errorf("reading %s back: %w", l.Key, err)
		}
		js, err := runtime.Encode(served, out)
		if err != nil {
			return fmt.Errorf("encoding %s as JSON: %w", l.Key, err)
		}
		l.Object = bytes.TrimSpace(js)
		resp, err := w.raw.Get(ctx, l.Key)
		if err != nil || len(resp.Kvs) != 1 {
			return fmt.Errorf("raw get of %s: %v (%d values)", l.Key, err, len(resp.Kvs))
		}
		kv := resp.Kvs[0]
		l.ModRevision = kv.ModRevision
		var want string
		switch {
		case l.Provider == "identity" && mediaType == jsonMT:
			want = "{"
		case l.Provider == "identity":
			want = "k8s\x00"
		case strings.HasPrefix(l.Provider, "kms:"):
			want = "k8s:enc:" + l.Provider + ":" + l.KeyName + ":"
		default:
			want = "k8s:enc:" + l.Provider + ":v1:" + l.KeyName + ":"
		}
		if !bytes.HasPrefix(kv.Value, []byte(want)) {
			return fmt.Errorf("%s: stored value does not start with %q", l.Key, want)
		}
		if strings.HasPrefix(l.Provider, "kms:") {
			if l.KMS, err = parseEnvelope(kv.Value[len(want):]); err != nil {
				return fmt.Errorf("%s: %w", l.Key, err)
			}
		}
	}
	return nil
}

// The fixed time the registry would have stamped.
var created = metav1.NewTime(time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC))

func meta(name, uid string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              name,
		Namespace:         namespace,
		UID:               types.UID(uid),
		CreationTimestamp: created,
		Labels:            map[string]string{"app.kubernetes.io/name": "lens", "phase": "1"},
	}
}

func plainOpaque() *corev1.Secret {
	m := meta("plain-opaque", "uid-secret-plain-opaque")
	m.Annotations = map[string]string{"note": "written before encryption was configured"}
	return &corev1.Secret{
		ObjectMeta: m,
		Type:       corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			"password": []byte("hunter2"),
			"binary":   {0, 1, 2, 0xfe, 0xff},
			"empty":    {},
		},
	}
}

func plainTLS() *corev1.Secret {
	immutable := true
	return &corev1.Secret{
		ObjectMeta: meta("plain-tls", "uid-secret-plain-tls"),
		Type:       corev1.SecretTypeTLS,
		Immutable:  &immutable,
		Data: map[string][]byte{
			"tls.crt": []byte("-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"),
			"tls.key": []byte("-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----\n"),
		},
	}
}

func migrated() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: meta("migrated", "uid-secret-migrated"),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"token": []byte("plaintext-first")},
	}
}

func encSecret(name, uid string) *corev1.Secret {
	m := meta(name, uid)
	m.Finalizers = []string{"lens.example/keep"}
	return &corev1.Secret{
		ObjectMeta: m,
		Type:       corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{
			".dockerconfigjson": []byte(`{"auths":{"registry.example":{"auth":"dXNlcjpwYXNz"}}}`),
		},
	}
}

func configMapSettings() *corev1.ConfigMap {
	m := meta("settings", "uid-cm-settings")
	m.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"apiVersion":"v1","kind":"ConfigMap"}`}
	ctrl := true
	m.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "uid-deploy-web", Controller: &ctrl,
	}}
	return &corev1.ConfigMap{
		ObjectMeta: m,
		Data: map[string]string{
			"app.properties": "color=blue\nsize=3\n",
			"unicode":        "grüße, 世界",
			"empty":          "",
		},
	}
}

func configMapBinary() *corev1.ConfigMap {
	immutable := true
	m := meta("binary", "uid-cm-binary")
	m.GenerateName = "binary-"
	return &corev1.ConfigMap{
		ObjectMeta: m,
		Immutable:  &immutable,
		BinaryData: map[string][]byte{"blob": {0xde, 0xad, 0xbe, 0xef}},
	}
}

func deployment() *appsv1.Deployment {
	replicas := int32(3)
	surge := intstr.FromString("25%")
	unavailable := intstr.FromInt32(1)
	grace := int64(30)
	m := meta("web", "uid-deploy-web")
	m.Generation = 2
	m.Annotations = map[string]string{"deployment.kubernetes.io/revision": "1"}
	m.ManagedFields = []metav1.ManagedFieldsEntry{{
		Manager:    "kubectl-client-side-apply",
		Operation:  metav1.ManagedFieldsOperationUpdate,
		APIVersion: "apps/v1",
		Time:       &created,
		FieldsType: "FieldsV1",
		FieldsV1:   &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{}}}}}}}`)},
	}}
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: m,
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{
				MatchLabels: labels,
				MatchExpressions: []metav1.LabelSelectorRequirement{{
					Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"frontend", "edge"},
				}},
			},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable},
			},
			RevisionHistoryLimit: ptr(int32(10)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "frontend"}},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					RestartPolicy:                 corev1.RestartPolicyAlways,
					DNSPolicy:                     corev1.DNSClusterFirst,
					Containers: []corev1.Container{{
						Name:  "web",
						Image: "registry.example/web:1.2.3",
						Args:  []string{"--port", "8080"},
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
						Env: []corev1.EnvVar{
							{Name: "MODE", Value: "prod"},
							{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
								LocalObjectReference: corev1.LocalObjectReference{Name: "plain-opaque"}, Key: "password",
							}}},
						},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{
								corev1.ResourceCPU:    resource.MustParse("250m"),
								corev1.ResourceMemory: resource.MustParse("64Mi"),
							},
							Limits: corev1.ResourceList{
								corev1.ResourceCPU:    resource.MustParse("1"),
								corev1.ResourceMemory: resource.MustParse("128Mi"),
							},
						},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
								Path: "/healthz", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP,
							}},
							PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3,
						},
						TerminationMessagePath:   "/dev/termination-log",
						TerminationMessagePolicy: corev1.TerminationMessageReadFile,
						ImagePullPolicy:          corev1.PullIfNotPresent,
					}},
				},
			},
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 2,
			Replicas:           3,
			ReadyReplicas:      3,
			AvailableReplicas:  3,
			UpdatedReplicas:    3,
			Conditions: []appsv1.DeploymentCondition{{
				Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue,
				LastUpdateTime: created, LastTransitionTime: created,
				Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability.",
			}},
		},
	}
}

func service() *corev1.Service {
	single := corev1.IPFamilyPolicySingleStack
	local := corev1.ServiceInternalTrafficPolicyCluster
	return &corev1.Service{
		ObjectMeta: meta("web", "uid-svc-web"),
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeClusterIP,
			ClusterIP:  "10.96.12.34",
			ClusterIPs: []string{"10.96.12.34"},
			Selector:   map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{
				{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("http")},
				{Name: "metrics", Protocol: corev1.ProtocolTCP, Port: 9090, TargetPort: intstr.FromInt32(9090)},
			},
			SessionAffinity:       corev1.ServiceAffinityNone,
			IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
			IPFamilyPolicy:        &single,
			InternalTrafficPolicy: &local,
		},
	}
}

func serviceAccount() *corev1.ServiceAccount {
	automount := false
	return &corev1.ServiceAccount{
		ObjectMeta:                   meta("builder", "uid-sa-builder"),
		Secrets:                      []corev1.ObjectReference{{Name: "builder-token"}},
		ImagePullSecrets:             []corev1.LocalObjectReference{{Name: "cbc-key1"}},
		AutomountServiceAccountToken: &automount,
	}
}

// The objects stored as JSON: the same shapes as their protobuf twins, other names.
func jsonConfigMap() *corev1.ConfigMap {
	cm := configMapSettings()
	cm.Name, cm.UID = "json-settings", "uid-cm-json-settings"
	cm.Data["json"] = `{"nested":"\"quoted\" <tag> & more"}`
	return cm
}

func jsonSecret() *corev1.Secret {
	m := meta("json-plain", "uid-secret-json-plain")
	m.Annotations = map[string]string{"note": "stored with --storage-media-type=application/json"}
	return &corev1.Secret{
		ObjectMeta: m,
		Type:       corev1.SecretTypeBasicAuth,
		Data: map[string][]byte{
			"username": []byte("admin"),
			"password": []byte("json-hunter2"),
			"binary":   {0, 0xff, 0x10},
		},
	}
}

func jsonDeployment() *appsv1.Deployment {
	d := deployment()
	d.Name, d.UID = "json-web", "uid-deploy-json-web"
	return d
}

// widget is an example.com/v1 Widget as a custom resource handler would store
// it: unstructured, numbers as JSON numbers (int64 and float64), nested lists.
func widget() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1",
		"kind":       "Widget",
		"metadata": map[string]any{
			"name":              "gizmo",
			"namespace":         namespace,
			"uid":               "uid-widget-gizmo",
			"generation":        int64(1),
			"creationTimestamp": created.UTC().Format(time.RFC3339),
			"labels":            map[string]any{"app.kubernetes.io/name": "lens"},
		},
		"spec": map[string]any{
			"size":     int64(3),
			"ratio":    0.75,
			"enabled":  true,
			"nothing":  nil,
			"colors":   []any{"red", "green"},
			"parts":    []any{map[string]any{"name": "cog", "count": int64(12)}, map[string]any{"name": "spring"}},
			"empty":    map[string]any{},
			"text":     "grüße <b>&</b>",
			"bigCount": int64(9007199254740993),
		},
		"status": map[string]any{"phase": "Ready"},
	}}
	return u
}

func ptr[T any](v T) *T { return &v }
