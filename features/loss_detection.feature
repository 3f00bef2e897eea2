Feature: Lost and duplicated messages are detected, exactly
  The fourth bug: nothing noticed when messages went missing. Every message
  carries its producer's sequence number; gaps are reported as lost with their
  exact numbers, repeats are counted as duplicates.

  Background:
    Given a fresh topic with a consumer reading it

  Scenario: A clean run loses nothing
    When a producer sends 500 messages of 600 bytes with compression "auto"
    And the consumer has caught up
    Then 500 messages are received
    And no message is lost
    And no message is duplicated

  Scenario: Messages removed on purpose are reported lost with their exact numbers
    When a producer sends 100 messages but messages 10 to 19 and 50 are removed on the way
    And the consumer has caught up
    Then 11 messages are reported lost
    And the lost messages are exactly "10-19,50"

  Scenario: Messages delivered twice are counted as duplicates, not as loss
    When a producer sends 100 messages and messages 30 to 34 are delivered twice
    And the consumer has caught up
    Then 5 duplicates are reported
    And no message is lost

  Scenario: The metrics page shows the counters
    When a producer sends 100 messages but messages 40 to 41 are removed on the way
    And the consumer has caught up
    Then the metrics page shows 2 lost messages
    And the metrics page shows 98 received messages

  Scenario: The last messages of a session are lost
    When a producer sends 100 messages but messages 91 to 100 are removed on the way
    And the consumer has caught up
    Then 10 messages are reported lost
    And the lost messages are exactly "91-100"
