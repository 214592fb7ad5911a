#!/usr/bin/env python3
"""Test values for etcd-lens's secret audit, made independently of its Rust code.

Reads a JSON list of items on stdin, writes a JSON list of {"key", "value_hex"}
on stdout, in the same order. Each item:

  {"key": "/registry/secrets/ns/name",
   "format": "protobuf" | "json",
   "object": {...the object as the API's JSON: Secret, ConfigMap or Pod...},
   "encrypt": null
            | {"provider": "aescbc" | "aesgcm" | "secretbox", "key_name": "k1", "secret_b64": "..."}
            | {"provider": "kms:v1" | "kms:v2", "plugin": "vault", "key_id": "kid-1"}}

Written from the Kubernetes layouts (k8s.io/apiserver storage/value/encrypt):
  aescbc    k8s:enc:aescbc:v1:<name>:    IV(16) | AES-CBC(PKCS#7)
  aesgcm    k8s:enc:aesgcm:v1:<name>:    nonce(12) | AES-GCM ciphertext+tag, AAD = the etcd key
  secretbox k8s:enc:secretbox:v1:<name>: nonce(24) | tag(16) | XSalsa20 ciphertext (NaCl secretbox)
  kms v1    k8s:enc:kms:v1:<plugin>:     u16 BE DEK length | DEK | ciphertext
  kms v2    k8s:enc:kms:v2:<plugin>:     EncryptedObject{1 encryptedData, 2 keyID, 3 encryptedDEKSource,
                                                         5 encryptedDEKSourceType}
Kubernetes protobuf (k8s.io/apimachinery runtime.Unknown, k8s.io/api core/v1 generated.proto):
  "k8s\\0" | Unknown{1 TypeMeta{1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding "", 4 contentType ""}
  ObjectMeta{1 name, 3 namespace, 5 uid, 11 labels, 12 annotations}
  Secret{1 metadata, 2 data map<string,bytes>, 3 type}   ConfigMap{1 metadata, 2 data map<string,string>}
  Pod{1 metadata, 2 spec PodSpec{2 containers Container{1 name, 2 image, 7 env EnvVar{1 name, 2 value}}}}
Needs: cryptography, pynacl.
"""
import base64
import json
import os
import struct
import sys

import nacl.secret
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(field: int, data: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return varint(field << 3 | 2) + varint(len(data)) + data


def vi(field: int, n: int) -> bytes:
    return varint(field << 3) + varint(n)


def s(field: int, text) -> bytes:
    return ld(field, text.encode() if isinstance(text, str) else text)


def string_map(field: int, m: dict, values_are_bytes: bool = False) -> bytes:
    out = b""
    for k in sorted(m):
        v = m[k]
        out += ld(field, s(1, k) + s(2, v if not values_are_bytes else v))
    return out


def object_meta(meta: dict) -> bytes:
    out = b""
    if "name" in meta:
        out += s(1, meta["name"])
    if "namespace" in meta:
        out += s(3, meta["namespace"])
    if "uid" in meta:
        out += s(5, meta["uid"])
    out += string_map(11, meta.get("labels", {}))
    out += string_map(12, meta.get("annotations", {}))
    return out


def secret_pb(o: dict) -> bytes:
    data = {k: base64.b64decode(v) for k, v in o.get("data", {}).items()}
    out = ld(1, object_meta(o.get("metadata", {})))
    out += string_map(2, data, values_are_bytes=True)
    if "type" in o:
        out += s(3, o["type"])
    return out


def configmap_pb(o: dict) -> bytes:
    return ld(1, object_meta(o.get("metadata", {}))) + string_map(2, o.get("data", {}))


def pod_pb(o: dict) -> bytes:
    spec = b""
    for c in o.get("spec", {}).get("containers", []):
        cb = s(1, c["name"]) + s(2, c.get("image", ""))
        for e in c.get("env", []):
            eb = s(1, e["name"])
            if "value" in e:
                eb += s(2, e["value"])
            cb += ld(7, eb)
        spec += ld(2, cb)
    return ld(1, object_meta(o.get("metadata", {}))) + ld(2, spec)


def protobuf(o: dict) -> bytes:
    raw = {"Secret": secret_pb, "ConfigMap": configmap_pb, "Pod": pod_pb}[o["kind"]](o)
    type_meta = s(1, o["apiVersion"]) + s(2, o["kind"])
    return b"k8s\x00" + ld(1, type_meta) + ld(2, raw) + ld(3, b"") + ld(4, b"")


def encrypt(etcd_key: str, plaintext: bytes, enc: dict) -> bytes:
    p = enc["provider"]
    if p in ("aescbc", "aesgcm", "secretbox"):
        key = base64.b64decode(enc["secret_b64"])
        prefix = f"k8s:enc:{p}:v1:{enc['key_name']}:".encode()
        if p == "aescbc":
            iv = os.urandom(16)
            padder = padding.PKCS7(128).padder()
            padded = padder.update(plaintext) + padder.finalize()
            e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
            return prefix + iv + e.update(padded) + e.finalize()
        if p == "aesgcm":
            nonce = os.urandom(12)
            return prefix + nonce + AESGCM(key).encrypt(nonce, plaintext, etcd_key.encode())
        nonce = os.urandom(24)
        # PyNaCl returns nonce | tag | ciphertext: exactly the Kubernetes layout.
        return prefix + bytes(nacl.secret.SecretBox(key).encrypt(plaintext, nonce))
    if p == "kms:v1":
        dek = os.urandom(32)
        return f"k8s:enc:kms:v1:{enc['plugin']}:".encode() + struct.pack(">H", len(dek)) + dek + os.urandom(48)
    if p == "kms:v2":
        eo = s(1, os.urandom(48)) + s(2, enc["key_id"]) + s(3, os.urandom(32)) + vi(5, 1)
        return f"k8s:enc:kms:v2:{enc['plugin']}:".encode() + eo
    raise SystemExit(f"unknown provider {p!r}")


def main() -> None:
    out = []
    for item in json.load(sys.stdin):
        o = item["object"]
        if item.get("format", "protobuf") == "protobuf":
            value = protobuf(o)
        else:
            value = json.dumps(o, separators=(",", ":")).encode() + b"\n"
        if item.get("encrypt"):
            value = encrypt(item["key"], value, item["encrypt"])
        out.append({"key": item["key"], "value_hex": value.hex()})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
