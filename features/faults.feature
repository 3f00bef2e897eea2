@fault
Feature: No acknowledged message is lost when things break
  Release engineers run these before a release. Messages flow steadily while
  one thing breaks and then heals. Afterwards, every message the broker
  acknowledged must have been read; messages never acknowledged are counted
  apart (they are not losses); repeats are counted; no latency is negative;
  and the consumer catches up. Each fault is proven from outside to have
  really happened (the broker stopped answering, the leader moved, the rule
  dropped packets, the producer saw retries, a raw Kafka request through the
  fault proxy took longer than one straight to the broker), and nothing else may fail unless
  the scenario says which failures it expects. A fault that breaks a broker
  gets a broker of the scenario's own; a fault of the network in front of a
  broker gets a fault proxy of its own in front of the broker the other
  scenarios share (their clients never pass through it); a client crash runs
  on the shared broker, which it leaves alone.

  @container-only
  Scenario: A broker restarts cleanly
    Given a broker of its own
    When steady traffic meets the fault "broker-restart"
    Then the fault really happened
    And no acknowledged message is lost
    And no latency is negative in the run
    And the consumer caught up once the fault healed

  @container-only
  Scenario: A broker is killed without a clean shutdown
    Given a broker of its own
    When steady traffic meets the fault "broker-kill"
    Then the fault really happened
    And no acknowledged message is lost
    And the consumer caught up once the fault healed

  @container-only
  Scenario: A broker freezes and thaws
    Given a broker of its own
    When steady traffic meets the fault "broker-pause"
    Then the fault really happened
    And no acknowledged message is lost
    And the consumer caught up once the fault healed

  @container-only
  Scenario: A broker is cut off the network and reconnected
    Given a broker of its own
    When steady traffic meets the fault "network-cut"
    Then the fault really happened
    And no acknowledged message is lost
    And the consumer caught up once the fault healed

  @container-only
  Scenario: A broker loses 30% of its packets for a while
    Given a broker of its own
    When steady traffic meets the fault "packet-loss"
    Then the fault really happened
    And no acknowledged message is lost
    And the consumer caught up once the fault healed

  @container-only
  Scenario: The partition leader is lost in a 3-broker cluster
    Given a 3-broker cluster of its own
    When steady traffic meets the fault "leader-loss"
    Then the fault really happened
    And no acknowledged message is lost
    And the consumer caught up once the fault healed

  @container-only
  Scenario: The producer crashes with messages in flight and restarts
    Given the shared broker, which a client fault leaves alone
    When steady traffic meets the fault "producer-crash"
    Then the fault really happened
    And no acknowledged message is lost
    And the messages came from 2 producer sessions
    And the consumer caught up once the fault healed

  @container-only
  Scenario: The consumer crashes before committing
    Given the shared broker, which a client fault leaves alone
    When steady traffic meets the fault "consumer-crash"
    Then the fault really happened
    And no acknowledged message is lost
    And messages read twice are reported as duplicates, not as a failure
    And the consumer caught up once the fault healed

  @mock-only
  Scenario: A broker goes down and comes back
    Given a broker of its own
    When steady traffic meets the fault "mock-broker-down"
    Then the fault really happened
    And no acknowledged message is lost
    And the consumer caught up once the fault healed

  @mock-only
  Scenario: Partition leadership moves to another broker
    Given a broker of its own
    When steady traffic meets the fault "mock-leader-move"
    Then the fault really happened
    And no acknowledged message is lost
    And the consumer caught up once the fault healed

  @mock-only
  Scenario: The broker answers with retriable errors for a while
    Given a broker of its own
    When steady traffic meets the fault "mock-retriable-errors"
    Then the fault really happened
    And no acknowledged message is lost
    And every message was acknowledged
    And the consumer caught up once the fault healed

  @mock-only
  Scenario: The broker refuses some messages outright
    Given a broker of its own
    When steady traffic meets the fault "mock-fatal-errors"
    Then the fault really happened, allowing only failures that start with "send: "
    And no acknowledged message is lost
    And the refused messages are counted as unacknowledged, not as lost
    And the consumer caught up once the fault healed

  @mock-only
  Scenario: Every round trip to the brokers slows down
    Given a broker of its own
    When steady traffic meets the fault "mock-delay"
    Then the fault really happened
    And no acknowledged message is lost
    And no latency is negative in the run
    And the consumer caught up once the fault healed

  @container-only
  Scenario: Every round trip to the broker gains 200 ms, with jitter
    Given the shared broker, reached through a fault proxy of its own
    When steady traffic meets the fault "proxy-latency"
    Then the fault really happened
    And no acknowledged message is lost
    And every acknowledged message was read, repeats counted as duplicates
    And no latency is negative in the run
    And the consumer caught up once the fault healed
    And every broker is advertised at its fault proxy, never at the address behind it

  @container-only
  Scenario: Every connection to the broker is capped at 64 KiB/s
    Given the shared broker, reached through a fault proxy of its own
    When steady traffic of 400 messages a second meets the fault "proxy-bandwidth"
    Then the fault really happened
    And no acknowledged message is lost
    And every acknowledged message was read, repeats counted as duplicates
    And the consumer caught up once the fault healed
    And every broker is advertised at its fault proxy, never at the address behind it

  @container-only
  Scenario: The partition leader is a black hole for 10 s in a 3-broker cluster
    Given a 3-broker cluster of its own
    When steady traffic meets the fault "proxy-black-hole"
    Then the fault really happened
    And no acknowledged message is lost
    And every acknowledged message was read, repeats counted as duplicates
    And the consumer caught up once the fault healed
    And every broker is advertised at its fault proxy, never at the address behind it

  @container-only
  Scenario: A storm of connection resets
    Given the shared broker, reached through a fault proxy of its own
    When steady traffic meets the fault "proxy-reset-storm"
    Then the fault really happened
    And no acknowledged message is lost
    And every acknowledged message was read, repeats counted as duplicates
    And the consumer caught up once the fault healed
    And every broker is advertised at its fault proxy, never at the address behind it
