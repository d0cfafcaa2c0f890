//! Generated gRPC code for Roster's protos, and their file descriptor set for reflection.
//!
//! Modules mirror the proto packages (generated code refers across them by path):
//! `roster::custodian::v1`, `roster::identity::v1`, `roster::membership::v1`, `roster::invitation::v1`, `roster::notification::v1`, `roster::r#type::v1`. The shorter aliases below are what the
//! rest of Roster uses.
#![allow(unreachable_pub, clippy::all, clippy::pedantic, missing_docs)]

/// The encoded `FileDescriptorSet` of every Roster proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/roster_descriptor.bin"));

/// Proto packages under `roster.`.
pub mod roster {
    /// `roster.type.*`: messages and enums every service shares.
    pub mod r#type {
        /// `roster.type.v1`.
        pub mod v1 {
            tonic::include_proto!("roster.r#type.v1");
        }
    }
    /// `roster.custodian.*`: the protocol asset-owning services implement for removals.
    pub mod custodian {
        /// `roster.custodian.v1`.
        pub mod v1 {
            tonic::include_proto!("roster.custodian.v1");
        }
    }
    /// `roster.identity.*`: the identity service.
    pub mod identity {
        /// `roster.identity.v1`.
        pub mod v1 {
            tonic::include_proto!("roster.identity.v1");
        }
    }
    /// `roster.invitation.*`: the invitation service.
    pub mod invitation {
        /// `roster.invitation.v1`.
        pub mod v1 {
            tonic::include_proto!("roster.invitation.v1");
        }
    }
    /// `roster.notification.*`: the notification service.
    pub mod notification {
        /// `roster.notification.v1`.
        pub mod v1 {
            tonic::include_proto!("roster.notification.v1");
        }
    }
    /// `roster.membership.*`: the membership service.
    pub mod membership {
        /// `roster.membership.v1`.
        pub mod v1 {
            tonic::include_proto!("roster.membership.v1");
        }
    }
}

pub use roster::custodian::v1 as custodian;
pub use roster::identity::v1 as identity;
pub use roster::invitation::v1 as invitation;
pub use roster::membership::v1 as membership;
pub use roster::notification::v1 as notification;
pub use roster::r#type::v1 as types;
