//! `cargo xtask`: project chores. Plugin bundling arrives with the plugin.

fn main() {
    let task = std::env::args().nth(1).unwrap_or_default();
    eprintln!("cargo xtask: no task `{task}` yet (the plugin bundler comes with the plugin)");
    std::process::exit(2);
}
