// DecodeError: the one error type decodeFrame throws. Its `kind` is one of the
// five stable names the Rust codec uses (src/codec/error.rs), so the page can
// count failures exactly like `dashstream decode` and the consumers do.

export const KINDS = Object.freeze(['empty', 'unknown-format', 'too-large', 'bad-zstd', 'bad-protobuf']);

export class DecodeError extends Error {
  /**
   * @param {'empty'|'unknown-format'|'too-large'|'bad-zstd'|'bad-protobuf'} kind
   * @param {string} detail one line, like the Rust message after "<kind>: "
   */
  constructor(kind, detail) {
    super(`${kind}: ${detail}`);
    this.name = 'DecodeError';
    this.kind = kind;
    this.detail = detail;
  }
}
