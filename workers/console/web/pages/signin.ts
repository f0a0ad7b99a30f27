// Sign-in: the participant's private JWK (a key file or pasted JSON) is imported into WebCrypto
// as a non-extractable key, checked against the node's registry (the key must be an active key
// of an active participant, and a signed read must be accepted), and stored in IndexedDB. The
// JWK text is dropped from the page at once; only the CryptoKey is kept.
import { importSigningKey } from "@eusn/client";
import type { ParticipantView } from "@eusn/protocol";
import type { JWK } from "jose";
import { ApiProblem, get, getPublic } from "../api.ts";
import { $, h, link, replace } from "../dom.ts";
import { HOME, type Role, type Session, saveSession } from "../session.ts";

type KeyFile = { participantId?: string; nodeId?: string; privateJwk?: JWK } & JWK;

async function signIn(text: string): Promise<Session> {
  let parsed: KeyFile;
  try {
    parsed = JSON.parse(text) as KeyFile;
  } catch {
    throw new Error("that is not JSON: load the key file or paste the private JWK");
  }
  const jwk = (parsed.privateJwk ?? parsed) as JWK;
  if (typeof jwk.d !== "string") throw new Error("no private key in it (a private JWK has a `d` member)");
  const imported = await importSigningKey(jwk);
  const { nodeId } = await getPublic<{ nodeId: string }>("/health");
  if (parsed.nodeId && parsed.nodeId !== nodeId) {
    throw new Error(`this key file is for node "${parsed.nodeId}"; this node is "${nodeId}"`);
  }
  let participant: ParticipantView | undefined;
  if (parsed.participantId) {
    participant = await getPublic<ParticipantView>(
      `/v1/participants/${encodeURIComponent(parsed.participantId)}`,
    );
  } else {
    const all = await getPublic<{ participants: ParticipantView[] }>("/v1/participants");
    participant = all.participants.find((p) => p.keys.some((k) => k.kid === imported.kid));
  }
  const key = participant?.keys.find((k) => k.kid === imported.kid);
  if (!participant || !key) throw new Error(`key ${imported.kid} is not registered with this node`);
  if (participant.status !== "active") throw new Error(`${participant.id} is revoked`);
  if (key.status !== "active") throw new Error(`key ${imported.kid} was retired; load your current key`);
  const session: Session = {
    participantId: participant.id,
    role: participant.role as Role,
    memberState: participant.memberState,
    displayName: participant.displayName,
    nodeId,
    kid: imported.kid,
    alg: imported.alg,
    key: imported.key,
    signedInAt: new Date().toISOString(),
  };
  // A signed read proves the node accepts this key's signatures before anything is stored.
  await get(session, "/v1/baseline?limit=1");
  return session;
}

function showWho(s: Session) {
  $("signin").hidden = true;
  $("whoami").hidden = false;
  const rows: [string, string][] = [
    ["Participant", s.participantId],
    ["Name", s.displayName],
    ["Role", s.role],
    ["Member state", s.memberState ?? "—"],
    ["Key (kid)", s.kid],
    ["Node", s.nodeId],
    ["Signed in at", s.signedInAt],
  ];
  replace(
    $("whoami-list"),
    rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );
  replace($("whoami-links"), "Continue to ", link(HOME[s.role], HOME[s.role]), ".");
}

export default function signin(s: Session | null) {
  if (s) {
    showWho(s);
    return;
  }
  const form = $("signin-form") as unknown as HTMLFormElement;
  const fileInput = $("key-file") as unknown as HTMLInputElement;
  const textArea = $("key-text") as unknown as HTMLTextAreaElement;
  const error = $("signin-error");
  const zone = form.querySelector<HTMLElement>("[data-drop-target=key]")!;
  let fileText: string | null = null;

  const readFile = async (f: File | undefined) => {
    if (!f) return;
    if (f.size > 64 * 1024) {
      replace(error, "that file is too large to be a key file");
      return;
    }
    fileText = await f.text();
    replace(error);
  };
  fileInput.addEventListener("change", () => void readFile(fileInput.files?.[0]));
  zone.addEventListener("dragover", (e) => e.preventDefault());
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    void readFile(e.dataTransfer?.files?.[0]);
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = fileText ?? textArea.value.trim();
    if (!text) {
      replace(error, "Load your key file or paste your private JWK first.");
      return;
    }
    const submit = $("signin-submit") as unknown as HTMLButtonElement;
    submit.disabled = true;
    replace(error, "Checking the key with the node…");
    try {
      const session = await signIn(text);
      await saveSession(session);
      location.assign(HOME[session.role]);
    } catch (err) {
      replace(error, `Not signed in: ${err instanceof ApiProblem ? err.describe() : (err as Error).message}`);
      submit.disabled = false;
    } finally {
      // Drop the private JWK text from the page whatever happened.
      fileText = null;
      textArea.value = "";
      fileInput.value = "";
    }
  });
}
