//! Roster's benchmarks, in one binary so the workspace is linked once for all of them:
//! `cargo bench -p roster-tests --bench roster -- <target>...` with targets
//! `authenticate`, `membership`, `memory`, `invitation`, `burst`, `notification`, `removal`
//! and `login_storm` (each module says what it measures); every target, in that order,
//! without one.

mod authenticate;
mod burst;
mod invitation;
mod login_storm;
mod membership;
mod memory;
mod notification;
mod removal;

const TARGETS: [&str; 8] = [
    "authenticate",
    "membership",
    "memory",
    "invitation",
    "burst",
    "notification",
    "removal",
    "login_storm",
];

fn main() {
    // Cargo adds `--bench` (and passes through any other flag); targets are the rest.
    let mut chosen: Vec<String> = std::env::args()
        .skip(1)
        .filter(|argument| !argument.starts_with("--"))
        .collect();
    if let Some(unknown) = chosen.iter().find(|t| !TARGETS.contains(&t.as_str())) {
        eprintln!("unknown benchmark {unknown:?}; the targets are {TARGETS:?}");
        std::process::exit(2);
    }
    if chosen.is_empty() {
        chosen = TARGETS.map(str::to_owned).to_vec();
    }
    roster_tests::load::main(|| async move {
        let mut failures = Vec::new();
        for target in &chosen {
            println!("\n## {target}\n");
            failures.extend(match target.as_str() {
                "authenticate" => authenticate::bench().await,
                "membership" => membership::bench().await,
                "memory" => memory::bench().await,
                "invitation" => invitation::bench().await,
                "burst" => burst::bench().await,
                "notification" => notification::bench().await,
                "removal" => removal::bench().await,
                _ => login_storm::bench().await,
            });
        }
        failures
    });
}
