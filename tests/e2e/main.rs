//! End-to-end tests: the `k6-runner` binary as a user runs it, a real k6
//! (installed by `make setup`), real HTTP and WebSocket on 127.0.0.1
//! against a local target. Each test is one user story.

mod auth;
mod cli;
mod corpus;
mod faults;
mod history;
mod hostile;
mod lifecycle;
mod limits;
mod prometheus;
mod real_suites;
mod records;
mod runner;
mod schedules;
mod security;
mod sidecar;
mod suite;
mod ui;
mod ui_history;
mod ui_schedules;
mod webhooks;
mod websocket;
