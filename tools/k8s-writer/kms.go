// The fake KMS v2 plugin: k8s.io/kms's own gRPC service (pkg/service), served on
// a unix socket in a temporary directory inside this process, over a small
// Service that wraps DEKs with AES-256-GCM under one fixed local key and
// always names the same key ID. The API server's loader (LoadEncryptionConfig)
// dials it from a real `kms: {apiVersion: v2, ...}` provider, so the envelope
// written to etcd (k8s:enc:kms:v2:<name>: + EncryptedObject protobuf) is the
// apiserver's own, not ours.
package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/protobuf/proto"
	kmstypes "k8s.io/apiserver/pkg/storage/value/encrypt/envelope/kmsv2/v2"
	kmsservice "k8s.io/kms/pkg/service"
)

// The plugin's fixed facts: its name in the EncryptionConfiguration (and so in
// the value prefix), the key ID it reports (the apiserver stores it in
// EncryptedObject.keyID) and one annotation it returns with every Encrypt
// (stored in EncryptedObject.annotations).
const (
	kmsName            = "fake-kms"
	kmsKeyID           = "fake-kms-key-1"
	kmsAnnotationKey   = "version.fake-kms.example.com"
	kmsAnnotationValue = "1"
)

// A test key, never a real one: 32 bytes for AES-256-GCM.
var kmsLocalKey = []byte("test-key-fake-kms-32-bytes-long!")

type fakeKMS struct{ aead cipher.AEAD }

var _ kmsservice.Service = (*fakeKMS)(nil)

func newFakeKMS() (*fakeKMS, error) {
	block, err := aes.NewCipher(kmsLocalKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &fakeKMS{aead: aead}, nil
}

// Encrypt returns nonce ‖ AES-GCM(data), the key ID as additional data.
func (f *fakeKMS) Encrypt(_ context.Context, _ string, data []byte) (*kmsservice.EncryptResponse, error) {
	nonce := make([]byte, f.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return &kmsservice.EncryptResponse{
		Ciphertext:  f.aead.Seal(nonce, nonce, data, []byte(kmsKeyID)),
		KeyID:       kmsKeyID,
		Annotations: map[string][]byte{kmsAnnotationKey: []byte(kmsAnnotationValue)},
	}, nil
}

func (f *fakeKMS) Decrypt(_ context.Context, _ string, req *kmsservice.DecryptRequest) ([]byte, error) {
	if req.KeyID != kmsKeyID {
		return nil, fmt.Errorf("fake KMS: unknown key ID %q", req.KeyID)
	}
	if string(req.Annotations[kmsAnnotationKey]) != kmsAnnotationValue {
		return nil, fmt.Errorf("fake KMS: annotation %s missing", kmsAnnotationKey)
	}
	n := f.aead.NonceSize()
	if len(req.Ciphertext) < n {
		return nil, fmt.Errorf("fake KMS: ciphertext of %d bytes", len(req.Ciphertext))
	}
	return f.aead.Open(nil, req.Ciphertext[:n], req.Ciphertext[n:], []byte(kmsKeyID))
}

func (f *fakeKMS) Status(context.Context) (*kmsservice.StatusResponse, error) {
	return &kmsservice.StatusResponse{Version: "v2", Healthz: "ok", KeyID: kmsKeyID}, nil
}

// startKMS serves the fake plugin and returns its endpoint (unix://…) and a
// stop function that closes the server and removes the socket's directory.
func startKMS() (string, func(), error) {
	svc, err := newFakeKMS()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "k8s-writer-kms-")
	if err != nil {
		return "", nil, err
	}
	sock := filepath.Join(dir, "kms.sock")
	grpcSvc := kmsservice.NewGRPCService(sock, 5*time.Second, svc)
	served := make(chan error, 1)
	go func() { served <- grpcSvc.ListenAndServe() }()
	stop := func() {
		grpcSvc.Close()
		os.RemoveAll(dir)
	}
	// ListenAndServe listens, then serves: wait until the socket answers (bounded: 5 s).
	for deadline := time.Now().Add(5 * time.Second); ; {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-served:
			stop()
			return "", nil, fmt.Errorf("fake KMS on %s: %w", sock, err)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("fake KMS on %s: not listening after 5 s", sock)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "unix://" + sock, stop, nil
}

// kmsProvider is the providers entry naming the plugin at endpoint.
func kmsProvider(endpoint string) string {
	return "- kms:\n        apiVersion: v2\n        name: " + kmsName + "\n        endpoint: " + endpoint + "\n        timeout: 5s\n"
}

// kmsEnvelope: what the apiserver's EncryptedObject holds, as its own
// generated type unmarshals it (the sizes only, for the ciphertexts).
type kmsEnvelope struct {
	KeyID                   string            `json:"keyID"`
	EncryptedDataBytes      int               `json:"encryptedDataBytes"`
	EncryptedDEKSourceBytes int               `json:"encryptedDEKSourceBytes"`
	EncryptedDEKSourceType  string            `json:"encryptedDEKSourceType"`
	Annotations             map[string]string `json:"annotations"`
}

// parseEnvelope unmarshals the bytes after the k8s:enc:kms:v2:<name>: prefix.
func parseEnvelope(b []byte) (*kmsEnvelope, error) {
	var o kmstypes.EncryptedObject
	if err := proto.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("EncryptedObject: %w", err)
	}
	e := &kmsEnvelope{
		KeyID:                   o.GetKeyID(),
		EncryptedDataBytes:      len(o.GetEncryptedData()),
		EncryptedDEKSourceBytes: len(o.GetEncryptedDEKSource()),
		EncryptedDEKSourceType:  o.GetEncryptedDEKSourceType().String(),
		Annotations:             map[string]string{},
	}
	for k, v := range o.GetAnnotations() {
		e.Annotations[k] = string(v)
	}
	if e.KeyID != kmsKeyID {
		return nil, fmt.Errorf("EncryptedObject.keyID is %q, not the plugin's %q", e.KeyID, kmsKeyID)
	}
	if e.Annotations[kmsAnnotationKey] != kmsAnnotationValue {
		return nil, fmt.Errorf("EncryptedObject.annotations lack the plugin's %s", kmsAnnotationKey)
	}
	return e, nil
}
