Feature: Frames from any protobuf library decode
  A legacy frame has no format byte, so the decoder checks that its bytes are
  an Envelope before it accepts them. Other protobuf libraries encode the same
  message differently from prost: a map entry's 0.0 value written out, default
  values written explicitly, fields in another order. Every valid proto3
  encoding decodes to the same message; bytes with fields the schema does not
  declare are still refused. The second implementation here is Python's
  protobuf library (upb), loading the schema the build compiled from
  proto/dashstream.proto; no byte is typed by hand.

  Scenario Outline: A quality report with a 0.0 metric, written by Python's protobuf library <how>
    Given a quality report whose metric "recall" is 0.0
    When Python's protobuf library writes it <variant>
    Then its bytes differ from prost's own encoding of the same message
    And as a legacy frame, without a format byte, it decodes to the planned message
    And behind the 0x00 format byte it decodes to the planned message

    Examples:
      | how                                 | variant  |
      | as it does by default               | default  |
      | with every default value written out | explicit |
      | with its fields in reverse order    | reversed |

  Scenario: A frame with a field the schema does not declare is still refused
    Given a quality report whose metric "recall" is 0.0
    When Python's protobuf library writes it unknown-field
    Then as a legacy frame it is refused as "bad-protobuf", naming "field 99 is not in the schema"
