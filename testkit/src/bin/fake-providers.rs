//! Runs the local Twelve Data, Yahoo and Cboe on fixed ports, for trying the pipeline on one
//! machine without network or API keys (scripts/run-local.sh).

use chrono::NaiveDate;
use clap::Parser;
use optionsflow_testkit::fake::{cboe, twelvedata, yahoo};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "18081")]
    twelvedata_port: u16,
    #[arg(long, default_value = "18082")]
    yahoo_port: u16,
    #[arg(long, default_value = "18083")]
    cboe_port: u16,
    /// The providers' "today".
    #[arg(long)]
    today: NaiveDate,
    /// API keys the local Twelve Data accepts (comma-separated).
    #[arg(long, default_value = "demo-key")]
    keys: String,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let keys: Vec<&str> = args.keys.split(',').collect();
    let td = twelvedata::FakeTwelveData::start_on(
        twelvedata::Config::free_plan(&keys, args.today),
        args.twelvedata_port,
    )
    .await;
    let y = yahoo::FakeYahoo::start_on(yahoo::Config::new(args.today), args.yahoo_port).await;
    let c = cboe::FakeCboe::start_on(cboe::Config::new(args.today), args.cboe_port).await;
    println!(
        "twelvedata {}\nyahoo {}\ncboe {}",
        td.url(),
        y.base_url(),
        c.url()
    );
    tokio::signal::ctrl_c().await.expect("signal handler");
}
