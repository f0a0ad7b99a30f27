// The one way the console changes state: a modal dialog that shows exactly what will be signed
// (kind, endpoint, the record), takes the inputs the record needs (a reason, a limb…), validates
// the record with the same zod schema the node uses, signs it with the session key on "Sign and
// send", and shows the node's answer: the signed record's id and its audit-trail position.
import { RECORD_SCHEMAS, type RecordKind, type WriteReceipt } from "@eusn/protocol";
import { ApiProblem, receiptOf, write } from "./api.ts";
import { $, type Child, flash, h, replace } from "./dom.ts";
import type { Session } from "./session.ts";

export type FieldSpec = {
  name: string;
  label: string;
  hint?: string;
  required?: boolean;
} & (
  | { type: "textarea" | "text"; value?: string; maxLength?: number }
  | { type: "select"; options: [string, string][]; value?: string }
  | { type: "checks"; options: { value: string; label: string; checked: boolean }[] }
);

export type Values = Record<string, string | string[]>;

export type ConfirmSpec = {
  title: string;
  intro: Child;
  kind: RecordKind;
  path: string;
  fields?: FieldSpec[];
  /** Builds the record from the inputs (called on every change for the preview). */
  record: (v: Values) => unknown;
};

export type Confirmed<T> = { data: T; receipt: WriteReceipt | null };

function fieldEl(f: FieldSpec): HTMLElement {
  const id = `cf-${f.name}`;
  const hint = f.hint ? h("span", { class: "hint", id: `${id}-hint` }, f.hint) : null;
  const described = f.hint ? `${id}-hint` : undefined;
  if (f.type === "checks") {
    return h(
      "fieldset",
      { class: "inline" },
      h("legend", {}, f.label),
      hint,
      f.options.map((o) =>
        h(
          "label",
          { class: "check" },
          h("input", { type: "checkbox", name: f.name, value: o.value, checked: o.checked }),
          ` ${o.label}`,
        ),
      ),
    );
  }
  let control: HTMLSelectElement | HTMLTextAreaElement | HTMLInputElement;
  if (f.type === "select") {
    control = h(
      "select",
      { id, name: f.name, "aria-describedby": described },
      f.options.map(([v, l]) => h("option", { value: v, selected: v === f.value }, l)),
    );
  } else if (f.type === "textarea") {
    control = h("textarea", {
      id,
      name: f.name,
      rows: 3,
      required: f.required,
      maxlength: f.maxLength ?? 2000,
      "aria-describedby": described,
    });
    (control as HTMLTextAreaElement).value = f.value ?? "";
  } else {
    control = h("input", {
      id,
      name: f.name,
      required: f.required,
      maxlength: f.maxLength ?? 300,
      "aria-describedby": described,
    });
    (control as HTMLInputElement).value = f.value ?? "";
  }
  return h("label", { for: id }, `${f.label}${f.required ? " (required)" : ""}`, " ", hint, control);
}

function readValues(container: HTMLElement, fields: FieldSpec[]): Values {
  const out: Values = {};
  for (const f of fields) {
    if (f.type === "checks") {
      out[f.name] = Array.from(
        container.querySelectorAll<HTMLInputElement>(`input[name="${f.name}"]:checked`),
      ).map((i) => i.value);
    } else {
      const el = container.querySelector(`[name="${f.name}"]`) as { value: string } | null;
      out[f.name] = el?.value ?? "";
    }
  }
  return out;
}

let busy = false;

/**
 * Opens the confirmation dialog. Resolves with the node's answer once the write was accepted and
 * the dialog closed, or null when cancelled.
 */
export function confirmWrite<T = WriteReceipt>(
  session: Session,
  spec: ConfirmSpec,
): Promise<Confirmed<T> | null> {
  if (busy) return Promise.resolve(null);
  busy = true;
  const dialog = $("confirm-dialog") as unknown as HTMLDialogElement;
  const form = $("confirm-form") as unknown as HTMLFormElement;
  const fieldsBox = $("confirm-fields");
  const preview = $("confirm-preview");
  const error = $("confirm-error");
  const result = $("confirm-result");
  const ok = $("confirm-ok") as unknown as HTMLButtonElement;
  const cancel = $("confirm-cancel") as unknown as HTMLButtonElement;
  const fields = spec.fields ?? [];

  replace($("confirm-title"), spec.title);
  replace($("confirm-intro"), spec.intro);
  replace($("confirm-kind"), spec.kind);
  replace($("confirm-path"), `POST ${spec.path}`);
  replace(fieldsBox, fields.map(fieldEl));
  replace(error);
  replace(result);
  delete result.dataset.recordId;
  ok.hidden = false;
  ok.disabled = false;
  cancel.textContent = "Cancel";
  fieldsBox.hidden = false;

  const current = () => spec.record(readValues(fieldsBox, fields));
  const refresh = () => {
    let text: string;
    try {
      text = JSON.stringify(current(), null, 2);
    } catch (e) {
      text = String((e as Error).message);
    }
    preview.textContent = text;
  };
  refresh();

  return new Promise((resolve) => {
    let answer: Confirmed<T> | null = null;
    const onInput = () => {
      refresh();
      replace(error);
    };
    const finish = () => {
      fieldsBox.removeEventListener("input", onInput);
      fieldsBox.removeEventListener("change", onInput);
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("close", finish);
      busy = false;
      if (answer?.receipt) {
        flash(
          [
            `${spec.title}: accepted. Signed record `,
            h("code", { "data-record-id": answer.receipt.recordId }, answer.receipt.recordId),
            ` (audit #${answer.receipt.auditSeq}).`,
          ],
          "ok",
        );
      }
      resolve(answer);
    };
    const onCancel = () => dialog.close();
    const onSubmit = async (ev: SubmitEvent) => {
      ev.preventDefault();
      if (answer) {
        dialog.close();
        return;
      }
      const record = current();
      const schema = RECORD_SCHEMAS[spec.kind];
      const parsed = schema.safeParse(record);
      if (!parsed.success) {
        replace(
          error,
          `Not sent: ${parsed.error.issues.map((i) => `${i.path.join(".") || "record"}: ${i.message}`).join("; ")}`,
        );
        return;
      }
      ok.disabled = true;
      cancel.disabled = true;
      replace(result, "Signing and sending…");
      try {
        const data = await write<T>(session, spec.path, spec.kind, record);
        const receipt = receiptOf(data);
        answer = { data, receipt };
        fieldsBox.hidden = true;
        ok.hidden = true;
        cancel.textContent = "Close";
        if (receipt) result.dataset.recordId = receipt.recordId;
        cancel.disabled = false;
        replace(
          result,
          receipt
            ? [
                h("strong", {}, "Accepted. "),
                "Signed record ",
                h("code", { id: "confirm-record-id" }, receipt.recordId),
                ` (audit #${receipt.auditSeq}, subject `,
                h("code", {}, receipt.subjectId),
                ").",
              ]
            : [h("strong", {}, "Nothing new was stored: "), "every item already existed."],
        );
        cancel.focus();
      } catch (e) {
        replace(result);
        replace(error, `Refused: ${e instanceof ApiProblem ? e.describe() : String((e as Error).message)}`);
        ok.disabled = false;
      } finally {
        cancel.disabled = false;
      }
    };
    fieldsBox.addEventListener("input", onInput);
    fieldsBox.addEventListener("change", onInput);
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("close", finish);
    dialog.showModal();
    const first = fieldsBox.querySelector<HTMLElement>("input, textarea, select");
    (first ?? ok).focus();
  });
}

/** Reason field used by most actions. */
export const reasonField = (label = "Reason", required = true): FieldSpec => ({
  name: "reason",
  label,
  type: "textarea",
  required,
  hint: required ? "At least 3 characters; it is part of the signed record." : "Part of the signed record.",
});
