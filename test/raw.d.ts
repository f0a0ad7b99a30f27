// Files imported as text (Vite's `?raw`), e.g. a document whose examples a test runs.
declare module "*.md?raw" {
  const text: string;
  export default text;
}
