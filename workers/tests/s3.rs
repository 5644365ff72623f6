//! The S3 adapter against moto's S3 server and a server that never answers: a put lands, a
//! missing bucket is a misconfiguration (the role stops and says so, no endless retry), and
//! a store that accepts connections but never answers fails within the operation timeout
//! instead of holding its partition.

use std::time::Duration;

use optionsflow_api::runtime_config::S3Sink;
use optionsflow_testkit::moto::Moto;
use optionsflow_workers::sinks::WriteError;
use optionsflow_workers::sinks::objects::s3::{S3Store, Timeouts};

fn sink(endpoint: String, bucket: &str) -> S3Sink {
    S3Sink {
        bucket: bucket.into(),
        prefix: String::new(),
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        path_style: true,
    }
}

const SHORT: Timeouts = Timeouts {
    connect: Duration::from_secs(1),
    attempt: Duration::from_secs(1),
    operation: Duration::from_secs(3),
};

#[tokio::test]
async fn s3_failures_are_told_apart_and_none_hangs() {
    // The only test in this binary: nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    }
    let moto = Moto::start();
    let admin = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(moto.endpoint())
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .build(),
    );
    admin.create_bucket().bucket("lake").send().await.unwrap();

    let store = S3Store::with_timeouts(&sink(moto.endpoint(), "lake"), SHORT).await;
    store.put("a/b.csv", b"x,y\r\n".to_vec()).await.unwrap();
    assert_eq!(store.list("a/").await.unwrap(), vec!["a/b.csv"]);

    let missing = S3Store::with_timeouts(&sink(moto.endpoint(), "nowhere"), SHORT).await;
    let error = missing.put("a/b.csv", b"x".to_vec()).await.unwrap_err();
    assert!(matches!(error, WriteError::Misconfigured { .. }), "{error}");
    assert!(error.to_string().contains("NoSuchBucket"), "{error}");

    // Accepts connections, reads, never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let hung = S3Store::with_timeouts(&sink(endpoint, "lake"), SHORT).await;
    let error = tokio::time::timeout(Duration::from_secs(30), hung.put("k", b"x".to_vec()))
        .await
        .expect("the operation timeout ends the call")
        .unwrap_err();
    assert!(matches!(error, WriteError::Unavailable { .. }), "{error}");
    assert!(error.to_string().contains("timeout"), "{error}");
}
