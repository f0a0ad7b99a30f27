// KeyClient: an EusnClient whose signatures come from a CryptoKey (e.g. the console's
// non-extractable key) instead of a private JWK, so every SDK helper that takes a client —
// openSelectorKeys, lookupSignals, … — works in a browser that never holds the JWK.
import type { AllowedAlg } from "@eusn/protocol";
import { type ClientOptions, EusnClient, type Result } from "./client.ts";
import { type KeySigner, signAccessTokenWithKey, signWriteWithKey } from "./key-signer.ts";
import type { WriteOptions } from "./sign.ts";

export type KeyClientOptions = Omit<ClientOptions, "privateJwk"> & {
  key: CryptoKey;
  kid: string;
  alg: AllowedAlg;
};

export class KeyClient extends EusnClient {
  private readonly keySigner: KeySigner;

  constructor(opts: KeyClientOptions) {
    // No JWK: `token` and `write`, the only users of it, are overridden below.
    super({ ...opts, privateJwk: {} });
    this.keySigner = { participantId: opts.participantId, key: opts.key, kid: opts.kid, alg: opts.alg };
  }

  override token(lifetimeS = 120): Promise<string> {
    return signAccessTokenWithKey(this.keySigner, this.nodeId, { lifetimeS });
  }

  override async write<T = unknown>(
    path: string,
    kind: string,
    record: unknown,
    opts?: WriteOptions,
  ): Promise<Result<T>> {
    return this.postJws<T>(path, await signWriteWithKey(this.keySigner, this.nodeId, kind, record, opts));
  }
}
