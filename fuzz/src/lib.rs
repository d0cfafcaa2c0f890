//! What the fuzz targets share: how a refused input must reach the caller.
use tonic::Code;
use tonic_types::StatusExt as _;

/// The most bytes of details a refusal carries, whatever the input (README, "Bounds").
const MAX_DETAILS_BYTES: usize = 1024;

/// Asserts `error` reaches the caller as `INVALID_ARGUMENT` with a `BadRequest` violation
/// (naming `field`, when given) and details under 1 KiB: never `INTERNAL`, never the whole
/// input echoed back.
pub fn assert_invalid_argument(error: roster_kit::Error, field: Option<&str>) {
    let status = tonic::Status::from(error);
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.details().len() < MAX_DETAILS_BYTES,
        "{} bytes of details: {status:?}",
        status.details().len()
    );
    let violations = status
        .get_details_bad_request()
        .map(|bad| bad.field_violations)
        .unwrap_or_default();
    assert!(
        !violations.is_empty(),
        "no BadRequest violation: {status:?}"
    );
    if let Some(field) = field {
        assert_eq!(violations[0].field, field, "{status:?}");
    }
}
