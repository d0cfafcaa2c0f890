//! Request decoding: arbitrary bytes as the request of every unary method of every
//! service, through what a server runs before the domain. The edge decodes the message
//! against the descriptor set and holds it to its fields' bounds (`Edge::decode_message`);
//! tonic then decodes the same bytes as the generated type; the adapters parse ids, id
//! lists, emails, page sizes, page tokens, orderings and JSON values with the kit.
//!
//! Properties: whatever the edge admits, tonic decodes to the same message (else the
//! caller would read `INTERNAL`, or a handler would see what the edge did not check); every
//! refusal is `INVALID_ARGUMENT` with bounded details.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use prost_reflect::{
    DescriptorPool, DynamicMessage, MessageDescriptor, ReflectMessage as _, Value,
};
use roster_fuzz::assert_invalid_argument;
use roster_kit::edge::Edge;
use roster_kit::paging::{self, PageSize};
use uuid::Uuid;

/// Decodes a request as tonic does and compares it with what the edge decoded.
type TypedDecode = fn(&[u8], Option<&DynamicMessage>);

/// One unary method: its path, its request's descriptor and its generated type.
struct Method {
    path: String,
    input: MessageDescriptor,
    typed: TypedDecode,
}

/// `(service, generated module, request types)`: every request is named `<Method>Request`
/// (buf lint STANDARD), so the method follows from the type.
macro_rules! methods {
    ($($service:literal => $module:ident { $($request:ident),+ $(,)? })+) => {
        fn typed_decoders() -> Vec<(String, TypedDecode)> {
            vec![$($(
                (
                    format!(
                        "/{}/{}",
                        $service,
                        stringify!($request).trim_end_matches("Request")
                    ),
                    agrees_with_tonic::<roster_proto::$module::$request> as TypedDecode,
                ),
            )+)+]
        }
    };
}

methods! {
    "roster.custodian.v1.AssetCustodianService" => custodian {
        DescribeAssetsRequest, TransferAssetsRequest, DeleteAssetsRequest,
    }
    "roster.identity.v1.IdentityService" => identity {
        CreateUserRequest, GetUserRequest, BatchGetUsersRequest, ListUsersRequest,
        UpdateUserRequest, ChangeEmailRequest, ConfirmEmailChangeRequest,
        CreateServiceAccountRequest, CreateApiKeyRequest, ListApiKeysRequest,
        RevokeApiKeyRequest, LoginRequest, LogoutRequest, AuthenticateRequest,
        RevokeSessionsRequest, DisableUserRequest, EnableUserRequest, LockUserRequest,
        UnlockUserRequest, ChangePasswordRequest, RequestPasswordResetRequest,
        ResetPasswordRequest, SetTemporaryPasswordRequest, ListAuditEventsRequest,
        ListUserChangesRequest, ProvisionInvitedUserRequest, VerifyInvitedEmailRequest,
        RequestImpersonationRequest, ListImpersonationGrantsRequest,
        ApproveImpersonationRequest, DenyImpersonationRequest, RevokeImpersonationRequest,
        StartImpersonationRequest, EndImpersonationRequest, ListImpersonationSessionsRequest,
        SetAutomaticImpersonationRequest, WatchUserChangesRequest, AcknowledgeUserChangesRequest,
    }
    "roster.invitation.v1.InvitationService" => invitation {
        InviteUsersRequest, GetInvitationRequest, ListInvitationsRequest,
        ResendInvitationRequest, RevokeInvitationRequest, UpdateInvitationRequest,
        PreviewInvitationRequest, AcceptInvitationRequest, CountPendingInvitationsRequest,
        ListAuditEventsRequest,
    }
    "roster.membership.v1.MembershipService" => membership {
        CreateAccountRequest, GetAccountRequest, ListAccountsRequest, UpdateAccountRequest,
        AddAccountAdministratorRequest, RemoveAccountAdministratorRequest,
        CreateWorkspaceRequest, GetWorkspaceRequest, ListWorkspacesRequest,
        UpdateWorkspaceRequest, GetSeatUsageRequest, CreateRoleRequest, UpdateRoleRequest,
        DeleteRoleRequest, ListRolesRequest, ListPermissionsRequest, AddMemberRequest,
        GetMemberRequest, ListMembersRequest, UpdateMemberRolesRequest, SuspendMemberRequest,
        ResumeMemberRequest, RemoveMemberRequest, RemoveAccountMemberRequest,
        PreviewRemovalRequest, GetRemovalRequest, ListRemovalsRequest, RetryRemovalRequest,
        RestoreMemberRequest, PurgeMemberRequest, ListUserMembershipsRequest,
        CheckPermissionRequest, BatchCheckPermissionRequest, DefineCustomFieldRequest,
        ListCustomFieldsRequest, SetCustomFieldValuesRequest, CheckUserAdministrationRequest,
        CheckSelfServicePasswordResetRequest, CheckInviteesRequest, CheckAssetAccessRequest,
        CreateCustodianRequest, ListCustodiansRequest, UpdateCustodianRequest,
        DeleteCustodianRequest, HoldSeatsRequest, ReleaseSeatsRequest, ListAuditEventsRequest,
    }
    "roster.notification.v1.NotificationService" => notification {
        EnqueueRequest, GetNotificationRequest, ListNotificationsRequest,
    }
}

/// Every method of the descriptor set, each with its generated type; a method without
/// one stops the target at its first input.
static METHODS: LazyLock<Vec<Method>> = LazyLock::new(|| {
    let pool = DescriptorPool::decode(roster_proto::FILE_DESCRIPTOR_SET).expect("descriptors");
    let mut typed = typed_decoders();
    let mut methods: Vec<Method> = pool
        .services()
        .flat_map(|service| service.methods().collect::<Vec<_>>())
        .map(|method| {
            let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
            let at = typed
                .iter()
                .position(|(typed_path, _)| *typed_path == path)
                .unwrap_or_else(|| panic!("{path} has no generated type in `methods!`"));
            Method {
                typed: typed.swap_remove(at).1,
                input: method.input(),
                path,
            }
        })
        .collect();
    assert!(typed.is_empty(), "`methods!` names methods no proto has");
    methods.sort_by(|a, b| a.path.cmp(&b.path));
    methods
});

/// The edge with the default request size limit (the fuzzer's inputs are smaller).
static EDGE: LazyLock<Edge> =
    LazyLock::new(|| Edge::new(1 << 20, Duration::from_secs(30)).expect("edge"));

fuzz_target!(init: {
    LazyLock::force(&METHODS);
    LazyLock::force(&EDGE);
}, |data: &[u8]| {
    let Some((choice, bytes)) = data.split_first_chunk::<2>() else {
        return;
    };
    let method = &METHODS[usize::from(u16::from_le_bytes(*choice)) % METHODS.len()];
    let admitted = EDGE
        .decode_message(&method.input, bytes)
        .map_err(|error| assert_invalid_argument(error, None))
        .ok();
    (method.typed)(bytes, admitted.as_ref());
    if let Some(message) = admitted {
        parse_fields(&message, &method.path);
    }
});

/// `admitted` is what the edge let through, if anything.
fn agrees_with_tonic<T: prost::Message + Default + PartialEq + std::fmt::Debug>(
    bytes: &[u8],
    admitted: Option<&DynamicMessage>,
) {
    let Some(admitted) = admitted else {
        return;
    };
    let typed = T::decode(bytes).unwrap_or_else(|error| {
        panic!("the edge admitted what tonic cannot decode ({error}): {admitted:?}")
    });
    let seen_by_edge: T = admitted
        .transcode_to()
        .expect("a decoded message transcodes");
    // NaN is unequal to itself: such a message is compared as the edge reads it back.
    assert!(
        typed == seen_by_edge || has_nan(admitted),
        "the edge checked {seen_by_edge:?}, the handler would read {typed:?}"
    );
}

fn has_nan(message: &DynamicMessage) -> bool {
    fn value_has_nan(value: &Value) -> bool {
        match value {
            Value::F32(x) => x.is_nan(),
            Value::F64(x) => x.is_nan(),
            Value::Message(message) => has_nan(message),
            Value::List(items) => items.iter().any(value_has_nan),
            Value::Map(entries) => entries.values().any(value_has_nan),
            _ => false,
        }
    }
    message.fields().any(|(_, value)| value_has_nan(value))
}

/// Runs the kit's parsers on the fields they read, by field name and type, as the
/// adapters do; each either accepts or refuses with `INVALID_ARGUMENT`.
fn parse_fields(message: &DynamicMessage, path: &str) {
    for (field, value) in message.fields() {
        parse_value(field.name(), value, path);
    }
}

fn parse_value(name: &str, value: &Value, path: &str) {
    let refused = match value {
        Value::String(text) if name.ends_with("_id") => {
            roster_kit::input::optional_id(name, text).err()
        }
        Value::String(text) if name == "email" || name == "emails" => {
            roster_kit::email::normalize(name, text).err()
        }
        Value::String(text) if name == "page_token" => {
            paging::decode::<(String, Uuid)>(&path, text).err()
        }
        Value::String(text) if name == "order_by" => {
            paging::parse_order_by(text, &[("display_name", ()), ("email", ())]).err()
        }
        Value::I32(size) if name == "page_size" => PageSize::LIST.resolve(*size).err(),
        Value::List(items) if name.ends_with("_ids") => {
            let ids: Vec<String> = items
                .iter()
                .map(|item| item.as_str().unwrap_or_default().to_owned())
                .collect();
            roster_kit::input::ids(name, &ids).err()
        }
        Value::List(items) => {
            for item in items {
                parse_value(name, item, path);
            }
            None
        }
        Value::Map(entries) => {
            for entry in entries.values() {
                parse_value(name, entry, path);
            }
            None
        }
        Value::Message(nested) if nested.descriptor().full_name() == "google.protobuf.Value" => {
            json_round_trips(nested);
            None
        }
        Value::Message(nested) => {
            parse_fields(nested, path);
            None
        }
        _ => None,
    };
    if let Some(error) = refused {
        assert_invalid_argument(error, None);
    }
}

/// A `google.protobuf.Value` a caller sent reads as JSON that converts back to itself.
fn json_round_trips(value: &DynamicMessage) {
    let value: prost_types::Value = value.transcode_to().expect("a decoded Value transcodes");
    let json = roster_kit::protobuf::value_to_json(&value);
    let again =
        roster_kit::protobuf::value_to_json(&roster_kit::protobuf::json_to_value(json.clone()));
    assert_eq!(again, json);
}
