// @eusn/cli as a library: the pieces of the `eusn` command line that other tools (the benchmark,
// scripts) reuse. The command line itself starts in main.ts.
export { type DecodedImage, type DecodeError, type DecodeErrorCode, decodeImage } from "./decode.ts";
