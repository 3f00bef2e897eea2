Feature: The quality aggregator runs under steady traffic without complaining
  The original system's quality aggregator was accepted when it "runs for 60s
  with <10 decompression warnings", and it logged a warning per message
  instead. Here the shipped command, `dashstream aggregate`, runs as a process
  of its own against the scenario's broker while `dashstream produce` sends
  steady traffic, compressed and plain. Scaled to this suite's time budget:
  the aggregator reads 1600 messages sent over 4 seconds (not 60 seconds of
  traffic), stopping once it has read them all, with the same bar of fewer
  than 10 warnings.

  Scenario: The quality aggregator runs under steady traffic with fewer than 10 warnings
    Given a fresh quality topic
    When the quality aggregator reads while the producer sends 1600 messages of 600 bytes at 400 per second, for 30 seconds at most
    Then the aggregator counted every quality report the producer sent
    And the aggregator logged fewer than 10 warnings
    And the aggregator logged how many messages it decompressed
