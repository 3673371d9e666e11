//! Starts the k6 stand-in, prints its ports and writes a k6 config file that
//! points every stand-in host at it; runs until Ctrl-C.
//!
//! Usage: `stand-in [CONFIG_DIR]` (default: the current directory). Then e.g.
//! `K6_CONFIG=<dir>/k6-stand-in.json k6 run -e BASE_URL=<base url> script.js`.

use std::path::PathBuf;

use testkit::stand_in::StandIn;

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let stand_in = StandIn::start();
    let config = stand_in.k6_config_file(&dir);
    println!("http port:  {}", stand_in.http_port());
    println!("https port: {}", stand_in.https_port());
    println!("BASE_URL:   {}", stand_in.base_url());
    println!("K6_CONFIG:  {}", config.display());
    for (host, addr) in stand_in.host_map() {
        println!("  {host} -> {addr}");
    }
    println!("Ctrl-C to stop.");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    drop(stand_in);
}
