//! `roster` itself, built inside the test package so its tests can run it as a child
//! process (and SIGKILL it).
fn main() -> std::process::ExitCode {
    roster::cli::main()
}
