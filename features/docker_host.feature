Feature: The Docker host is found wherever the developer keeps it
  Real Kafka runs in Docker. Laptops keep Docker in different places (Docker
  Desktop, Colima, rootless Docker, Podman); the suite finds it, and when there
  is none, says what it tried and how to fix it.

  Scenario: A Colima socket is found through DOCKER_HOST
    Given a laptop where Colima answers on "~/.colima/default/docker.sock"
    And DOCKER_HOST points at "~/.colima/default/docker.sock"
    When the suite looks for a Docker host
    Then it uses "~/.colima/default/docker.sock", found through "DOCKER_HOST"

  Scenario: A Colima socket is found by looking in the usual places
    Given a laptop where Colima answers on "~/.colima/default/docker.sock"
    When the suite looks for a Docker host
    Then it uses "~/.colima/default/docker.sock", found through "Colima socket"

  Scenario: A stopped Docker is skipped with its reason
    Given a laptop where a stopped Docker left "/var/run/docker.sock"
    And a laptop where Colima answers on "~/.colima/default/docker.sock"
    When the suite looks for a Docker host
    Then it uses "~/.colima/default/docker.sock", found through "Colima socket"
    And "/var/run/docker.sock" was skipped because it "does not answer"

  Scenario: With no Docker at all the error lists what was tried
    Given a laptop with no Docker at all
    When the suite looks for a Docker host
    Then it finds none
    And the error lists all 7 usual sockets and DOCKER_HOST
    And the error explains how to fix it
