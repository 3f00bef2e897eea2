Feature: Compression really happens, and never makes a message bigger
  The fifth bug: compression was switched on and did nothing. Large messages
  must travel compressed and smaller; small or incompressible ones travel as
  they are, so no message ever grows by more than one byte.

  Background:
    Given a fresh topic with a consumer reading it

  Scenario: Large messages travel compressed and smaller
    When a producer sends 300 messages of 4000 bytes with compression "auto"
    And the consumer has caught up
    Then every message travelled compressed
    And the bytes on the wire are at most 60% of the original bytes
    And the bytes saved are reported in the metrics
    And every message is decoded

  Scenario: Small messages travel as they are
    When a producer sends 300 messages of 200 bytes with compression "auto"
    And the consumer has caught up
    Then no message travelled compressed
    And no message grew by more than 1 byte

  Scenario: Incompressible messages are not made bigger
    When a producer sends 100 incompressible messages of 3000 bytes with compression "auto"
    And the consumer has caught up
    Then no message grew by more than 1 byte
    And every message is decoded
