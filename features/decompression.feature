Feature: Every message can be read, whatever format it travelled in
  The first bug: the consumer guessed whether a message was compressed and
  could not read a single one. Messages say how they are encoded, and old
  messages from before that rule still read.

  Background:
    Given a fresh topic with a consumer reading it

  Scenario: Compressed, plain and legacy messages all decode, with no warnings
    When a producer sends 200 messages of 2000 bytes with compression "always"
    And a producer sends 200 messages of 2000 bytes with compression "never"
    And an old producer sends 100 legacy compressed messages
    And an old producer sends 100 legacy plain messages
    And the consumer has caught up
    Then 600 messages are received
    And every message is decoded
    And there are no decode warnings
    And the formats seen are 200 "zstd", 200 "raw", 100 "legacy-zstd" and 100 "legacy-raw"
