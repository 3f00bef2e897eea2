Feature: Messages that cannot be read are kept, not dropped
  A consumer once skipped unreadable messages without a trace. Every record
  that cannot be decoded is copied, unchanged, to a dead-letter topic that says
  where it came from and why, and the consumer carries on.

  Background:
    Given a fresh topic with a consumer reading it

  Scenario: Poison records land in the dead-letter topic with their origin
    When another client writes 3 records that are not DashStream messages
    And a producer sends 50 messages of 600 bytes with compression "auto"
    And the consumer has caught up
    Then 50 messages are decoded
    And 3 records are in the dead-letter topic, unchanged, with their original topic, partition, offset and error
    And the unreadable records are counted by kind
