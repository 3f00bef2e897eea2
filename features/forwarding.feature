Feature: Forwarded messages reach the browser with honest latency
  The live path of the original system: a forwarder reads the topic and sends
  every record, byte for byte, to the WebSocket clients of a browser view. Its
  log is where the second bug was first seen ("E2E latency: -4.46ms"). A client
  that cannot keep up loses records on its own connection only, and is told
  exactly which ones; nobody else waits for it.

  Scenario: Every forwarded message reaches a client byte for byte
    Given a fresh topic with a forwarder keeping 1024 records per client and 1000 for replay
    And a WebSocket client "browser" connected
    When a producer sends 500 messages of 600 bytes with compression "auto"
    Then client "browser" receives every record on the topic, byte for byte

  Scenario: A producer clock 5 s ahead never gives a negative latency at the forwarder
    Given a fresh topic with a forwarder keeping 1024 records per client and 1000 for replay
    And a WebSocket client "browser" connected
    And the producer's clock is off by +5 s
    When a producer sends 200 messages of 600 bytes with compression "auto"
    Then client "browser" receives every record on the topic, byte for byte
    And the forwarder reported no negative latency
    And the forwarder counted every message as clock skew

  # A client's queue must hold a burst: Kafka hands over a whole fetch at once
  # (up to 1 MB per partition, about 1,000 of these records), so the fast
  # client's 2,000 absorb one; the slow one, which stops reading, drops the rest.
  Scenario: A slow client does not slow a fast one
    Given a fresh topic with a forwarder keeping 2000 records per client and 1000 for replay
    And a WebSocket client "fast" connected
    And a WebSocket client "slow" that stops reading
    When a producer sends 7000 incompressible messages of 800 bytes with compression "never"
    Then client "fast" receives every record on the topic, byte for byte
    When client "slow" reads again
    Then client "slow" is told exactly which sequences it missed

  Scenario: A client that reconnects learns the gap
    Given a fresh topic with a forwarder keeping 1024 records per client and 100 for replay
    And a WebSocket client "browser" connected
    When a producer sends 200 messages of 600 bytes with compression "auto"
    And client "browser" has received 200 messages
    And client "browser" disconnects
    And a producer sends 300 messages of 600 bytes with compression "auto"
    And the forwarder has forwarded every planned record
    And client "browser" reconnects where it left off
    Then client "browser" is told exactly which sequences it missed
