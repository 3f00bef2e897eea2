// Bug replica: what the original suite looked like. Never compiled; only parsed
// by the test-hygiene scenario when the runner checks that it catches this.

#[tokio::test]
#[ignore = "needs Kafka"]
async fn kafka_round_trip() {
    let broker = start_kafka().await;
    broker.produce_and_consume(1000).await;
}

#[test]
fn codec_round_trip() {}
