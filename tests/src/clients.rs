//! The generated clients of `examples/python` and `examples/typescript`, with their own test
//! suites run as child processes against a [`crate::TestEnv`].
//!
//! Each client is prepared once per test binary, in a directory under the system temp
//! directory named by a hash of its sources: a Python virtual environment with the package
//! and pytest installed from PyPI, and a copy of the TypeScript package with its locked npm
//! dependencies and `tsc`'s output. A changed source makes a new directory; an unchanged
//! one is reused by later runs without a registry.
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The repository's root.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_owned()
}

/// The interpreter of a prepared copy of `examples/python`, relative to it.
pub const PYTHON: &str = "venv/bin/python";

/// A copy of `examples/python` with a virtual environment ([`PYTHON`]) holding the
/// `roster-client` package, its dependencies and pytest.
pub async fn python() -> PathBuf {
    static PACKAGE: OnceLock<PathBuf> = OnceLock::new();
    prepare(&PACKAGE, || {
        prepared("roster-test-client-python", "examples/python", |staged| {
            run(Command::new("python3")
                .args(["-m", "venv"])
                .arg(staged.join("venv")));
            run(Command::new(staged.join(PYTHON))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .arg(staged)
                .arg("pytest"));
        })
    })
    .await
}

/// A built copy of `examples/typescript`: its locked dependencies installed (`npm ci`) and
/// its sources compiled into `dist/` (`npm run build`).
pub async fn typescript() -> PathBuf {
    static PACKAGE: OnceLock<PathBuf> = OnceLock::new();
    prepare(&PACKAGE, || {
        prepared(
            "roster-test-client-typescript",
            "examples/typescript",
            |staged| {
                run(Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                    .current_dir(staged));
                run(Command::new("npm")
                    .args(["run", "--silent", "build"])
                    .current_dir(staged));
            },
        )
    })
    .await
}

/// `cell`'s value, made by `make` on a blocking thread the first time: installing takes
/// a while, and the tests' runtimes keep serving meanwhile.
async fn prepare(
    cell: &'static OnceLock<PathBuf>,
    make: impl FnOnce() -> PathBuf + Send + 'static,
) -> PathBuf {
    match tokio::task::spawn_blocking(move || cell.get_or_init(make).clone()).await {
        Ok(path) => path,
        // The test fails with the step's own message (a failed install shows its output).
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

/// Sources a prepared copy leaves out: what installing and building make, and the local
/// caches of whoever ran the examples in the work tree.
const NOT_SOURCES: [&str; 8] = [
    "node_modules",
    "dist",
    "build",
    "venv",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    "roster_client.egg-info",
];

/// A directory under the system temp directory holding a copy of the repository's `source`
/// on which `make` ran; made when no copy of these exact sources exists yet.
fn prepared(name: &str, source: &str, make: impl FnOnce(&Path)) -> PathBuf {
    let source = repository().join(source);
    let mut files = Vec::new();
    sources(&source, Path::new(""), &mut files);
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in &files {
        file.hash(&mut hasher);
        std::fs::read(source.join(file))
            .expect("read a source")
            .hash(&mut hasher);
    }
    let dir = std::env::temp_dir().join(format!("{name}-{:016x}", hasher.finish()));
    if dir.exists() {
        return dir;
    }
    // Made aside and renamed into place, so a copy that exists is a finished one.
    let staged = std::env::temp_dir().join(format!("{name}-{}", uuid::Uuid::now_v7().simple()));
    for file in &files {
        let to = staged.join(file);
        std::fs::create_dir_all(to.parent().expect("a file's directory")).expect("mkdir");
        std::fs::copy(source.join(file), &to).expect("copy a source");
    }
    make(&staged);
    // Another test binary may have finished the same copy meanwhile: either serves.
    if std::fs::rename(&staged, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&staged);
    }
    dir
}

/// Every file under `root/relative`, as paths relative to `root`.
fn sources(root: &Path, relative: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(root.join(relative)).expect("read a source directory") {
        let entry = entry.expect("a directory entry");
        let path = relative.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            if !NOT_SOURCES.iter().any(|skip| entry.file_name() == *skip) {
                sources(root, &path, files);
            }
        } else {
            files.push(path);
        }
    }
}

/// Runs a preparation step, which must succeed.
fn run(command: &mut Command) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{command:?} did not start: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

/// Runs a client's test suite to its end within `limit` (killed past it) and fails,
/// showing what the suite printed, unless it exits with success.
pub async fn passes(command: &mut tokio::process::Command, limit: Duration) {
    command.stdin(Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(limit, command.output())
        .await
        .unwrap_or_else(|_| panic!("{command:?} ran longer than {limit:?}"))
        .unwrap_or_else(|e| panic!("{command:?} did not start: {e}"));
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{printed}",
        output.status
    );
    println!("{printed}");
}
