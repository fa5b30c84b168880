import pkg from "../package.json" with { type: "json" };

/** The API version we speak, taken from package.json so it is declared once. */
export const VERSION: string = pkg.version;
