// The part of the `ws` package's client (8.x) bench/cpu-profile.ts uses; the package ships no types.
declare module "ws" {
  export default class WebSocket {
    constructor(url: string);
    on(event: "open", listener: () => void): this;
    on(event: "error", listener: (err: Error) => void): this;
    on(event: "message", listener: (data: { toString(): string }) => void): this;
    send(data: string): void;
    close(): void;
  }
}
