//! One module per verb; each has `Args` (clap) and `run(Args) -> Result<ExitCode>`.

pub mod bench;
pub mod control;
pub mod db;
pub mod deploy;
pub mod dump;
pub mod incidents;
pub mod inspect;
pub mod instances;
pub mod operator;
pub mod recover;
pub mod run;
pub mod schedules;
pub mod server;
pub mod server_balance;
pub mod server_lease;
pub mod server_node;
pub mod start;
pub mod test;
pub mod validate;
