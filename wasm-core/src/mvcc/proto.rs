//! The protobuf messages etcd stores in bbolt values, written from etcd's
//! `.proto` files (field numbers and types as there; no protoc at build time):
//! `api/mvccpb/kv.proto`, `server/lease/leasepb/lease.proto`,
//! `api/authpb/auth.proto`, `api/etcdserverpb/rpc.proto` (`AlarmMember`).
//!
//! `User.password` is a bcrypt hash: nothing outside this module should print
//! it; [`crate::snapshot`] exposes only whether there is one and a masked form.

/// mvccpb.KeyValue: the value of every `key`-bucket entry.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    #[prost(int64, tag = "2")]
    pub create_revision: i64,
    #[prost(int64, tag = "3")]
    pub mod_revision: i64,
    #[prost(int64, tag = "4")]
    pub version: i64,
    #[prost(bytes = "vec", tag = "5")]
    pub value: Vec<u8>,
    #[prost(int64, tag = "6")]
    pub lease: i64,
}

/// leasepb.Lease: the value of a `lease`-bucket entry (the key is the id, 8 bytes BE).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Lease {
    #[prost(int64, tag = "1")]
    pub id: i64,
    #[prost(int64, tag = "2")]
    pub ttl: i64,
    #[prost(int64, tag = "3")]
    pub remaining_ttl: i64,
}

/// authpb.UserAddOptions.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UserAddOptions {
    #[prost(bool, tag = "1")]
    pub no_password: bool,
}

/// authpb.User: the value of an `authUsers` entry.
#[derive(Clone, PartialEq, prost::Message)]
pub struct User {
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
    /// A bcrypt hash. Never print it.
    #[prost(bytes = "vec", tag = "2")]
    pub password: Vec<u8>,
    #[prost(string, repeated, tag = "3")]
    pub roles: Vec<String>,
    #[prost(message, optional, tag = "4")]
    pub options: Option<UserAddOptions>,
}

/// authpb.Permission.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Permission {
    /// READ = 0, WRITE = 1, READWRITE = 2.
    #[prost(int32, tag = "1")]
    pub perm_type: i32,
    #[prost(bytes = "vec", tag = "2")]
    pub key: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub range_end: Vec<u8>,
}

/// authpb.Role: the value of an `authRoles` entry.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Role {
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
    #[prost(message, repeated, tag = "2")]
    pub key_permission: Vec<Permission>,
}

/// etcdserverpb.AlarmMember: the *key* of an `alarm` entry (the value is empty).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AlarmMember {
    #[prost(uint64, tag = "1")]
    pub member_id: u64,
    /// NONE = 0, NOSPACE = 1, CORRUPT = 2.
    #[prost(int32, tag = "2")]
    pub alarm: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn key_value_wire_format_matches_field_numbers() {
        let kv = KeyValue {
            key: b"a".to_vec(),
            create_revision: 2,
            mod_revision: 3,
            version: 1,
            value: b"v".to_vec(),
            lease: 0,
        };
        // tag 1 bytes, tag 2/3/4 varints, tag 5 bytes; lease 0 omitted (proto3).
        assert_eq!(
            kv.encode_to_vec(),
            b"\x0a\x01a\x10\x02\x18\x03\x20\x01\x2a\x01v"
        );
        assert_eq!(
            KeyValue::decode(&b"\x0a\x01a\x10\x02\x18\x03\x20\x01\x2a\x01v"[..]).unwrap(),
            kv
        );
    }
}
