//! Email templates (`roster_notification::Renderer`): any variables a sender could write,
//! of any shape, render or fail with an error, never a panic; a rendered subject is one
//! line, the HTML part escapes every string it was given, and the footer names the
//! configured product and URL whatever the variables say.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use roster_notification::{Renderer, Template};
use serde_json::{Map, Value};

const PRODUCT_NAME: &str = "Roster";
const PUBLIC_URL: &str = "https://roster.example.com";

/// A tag no template writes: in the HTML part it can only come from a string left
/// unescaped.
const CANARY: &str = "<roster-canary>";

/// The names the templates read (and the two the renderer sets), so that inputs reach
/// their branches; any other name is possible too.
const NAMES: &[&str] = &[
    "account_name",
    "all_workspaces",
    "automatic",
    "completed",
    "count",
    "custodian",
    "display_name",
    "duration",
    "email",
    "error",
    "expire_time",
    "failed_count",
    "impersonator_name",
    "inviter_email",
    "inviter_name",
    "kind",
    "lock_expire_time",
    "member_email",
    "member_name",
    "message",
    "needs_action",
    "phase",
    "product_name",
    "public_url",
    "purge_time",
    "reason",
    "removal_id",
    "requester_name",
    "send_count",
    "start_time",
    "state",
    "steps",
    "token",
    "workspace_name",
    "workspace_names",
];

#[derive(Debug, Arbitrary)]
struct Input {
    template: u8,
    variables: Vec<(Name, Variable)>,
    secrets: Option<Vec<(Name, Variable)>>,
}

#[derive(Debug, Arbitrary)]
enum Name {
    Known(u8),
    Other(String),
}

/// A JSON value; a string may carry the canary.
#[derive(Debug, Arbitrary)]
enum Variable {
    Null,
    Bool(bool),
    Integer(i64),
    Float(f64),
    Text { text: String, canary: bool },
    List(Vec<Variable>),
    Object(Vec<(Name, Variable)>),
}

impl Name {
    fn resolve(self) -> String {
        match self {
            Self::Known(i) => NAMES[usize::from(i) % NAMES.len()].to_owned(),
            Self::Other(name) => name,
        }
    }
}

impl Variable {
    fn into_json(self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => b.into(),
            Self::Integer(n) => n.into(),
            Self::Float(x) => x.into(),
            Self::Text { text, canary } if canary => format!("{text}{CANARY}").into(),
            Self::Text { text, .. } => text.into(),
            Self::List(items) => items.into_iter().map(Self::into_json).collect(),
            Self::Object(fields) => object(fields),
        }
    }
}

fn object(fields: Vec<(Name, Variable)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(name, value)| (name.resolve(), value.into_json()))
            .collect::<Map<_, _>>(),
    )
}

fuzz_target!(init: {
    renderer();
}, |input: Input| {
    let template = Template::ALL[usize::from(input.template) % Template::ALL.len()];
    let variables = object(input.variables);
    let secrets = input.secrets.map(object);
    // A failure is recorded on the message and retried: only a panic would be a bug here.
    let Ok(rendered) = renderer().render(template, &variables, secrets.as_ref()) else {
        return;
    };
    assert!(
        !rendered.subject.contains(['\r', '\n']),
        "{template:?}: {:?}",
        rendered.subject
    );
    assert!(
        !rendered.html.contains(CANARY),
        "{template:?} left a string unescaped: {}",
        rendered.html
    );
    assert!(
        rendered
            .text
            .ends_with(&format!("\n--\n{PRODUCT_NAME}\n{PUBLIC_URL}")),
        "{template:?}: {}",
        rendered.text
    );
});

fn renderer() -> &'static Renderer {
    static RENDERER: std::sync::OnceLock<Renderer> = std::sync::OnceLock::new();
    RENDERER.get_or_init(|| Renderer::new(PRODUCT_NAME, PUBLIC_URL).expect("templates parse"))
}
