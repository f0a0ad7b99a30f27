// Hashing image files in the browser: decode with the browser's own decoder (createImageBitmap →
// canvas → ImageData, RGBA) and hash with @eusn/pdq, the same TypeScript the CLI uses. The file
// is read from memory only; nothing about it but the hashes is ever sent.
//
// Decoding follows `eusn hash` as far as a browser allows: colour-space conversion off (the
// stored samples are hashed, embedded ICC profiles ignored), EXIF orientation not applied (the
// dihedral variants cover rotated copies), alpha left straight and flattened onto white by PDQ.
// A browser's JPEG decoder may differ from libjpeg-turbo by a few bits of the hash (see
// docs/console.md); PNG, GIF, BMP and WebP (lossless) decode to the same samples.
import { DIHEDRAL_NAMES, pdqHashDihedral } from "@eusn/pdq";

export type HashedImage = {
  file: string;
  size: number;
  width: number;
  height: number;
  pdq: string;
  quality: number;
  /** The seven other dihedral variants (rotations/flips), for matching. */
  dihedral: string[];
  sha256: string;
};

async function decode(file: Blob): Promise<ImageData> {
  const bitmap = await createImageBitmap(file, {
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
    imageOrientation: "none" as ImageOrientation,
  });
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext("2d", { willReadFrequently: true, colorSpace: "srgb" });
    if (!ctx) throw new Error("no 2D canvas in this browser");
    ctx.drawImage(bitmap, 0, 0);
    return ctx.getImageData(0, 0, bitmap.width, bitmap.height, { colorSpace: "srgb" });
  } finally {
    bitmap.close();
  }
}

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function hashImage(file: File): Promise<HashedImage> {
  const bytes = await file.arrayBuffer();
  let img: ImageData;
  try {
    img = await decode(new Blob([bytes], { type: file.type }));
  } catch {
    throw new Error(`${file.name}: this browser cannot decode it as an image`);
  }
  const pixels = { width: img.width, height: img.height, channels: 4 as const, data: img.data };
  // One DCT gives the hash and its seven dihedral variants (the original is variant "original").
  const d = pdqHashDihedral(pixels);
  if (!d.ok) throw new Error(`${file.name}: ${d.error.message}`);
  const dihedral = DIHEDRAL_NAMES.filter((n) => n !== "original").map(
    (n) => d.value.variants[n].hex as string,
  );
  return {
    file: file.name,
    size: file.size,
    width: img.width,
    height: img.height,
    pdq: d.value.variants.original.hex,
    quality: d.value.quality,
    dihedral,
    sha256: hex(await crypto.subtle.digest("SHA-256", bytes)),
  };
}

/** Files dropped on `zone` or chosen in `input` are passed to `onFiles` (images only). */
export function wireDrop(
  zone: HTMLElement,
  input: HTMLInputElement | null,
  onFiles: (files: File[]) => void,
) {
  const take = (list: FileList | null | undefined) => {
    const files = Array.from(list ?? []);
    if (files.length > 0) onFiles(files);
  };
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    take(e.dataTransfer?.files);
  });
  input?.addEventListener("change", () => {
    take(input.files);
    input.value = "";
  });
}
