/**
 * HTML built with a tagged template that escapes every interpolated value unless it is already
 * {@link Html} (the output of another `html` template or of {@link raw}). Job ids, errors and
 * warnings are user data: nothing reaches the page without passing through {@link escapeHtml}.
 */

/** A piece of markup that is safe to insert as is. */
export class Html {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

/** Marks trusted markup (built in this module's code, never from data) as safe. */
export function raw(markup: string): Html {
  return new Html(markup);
}

/** A value allowed in an {@link html} template: text is escaped, arrays are joined. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(String(value));
}

/**
 * Builds markup, escaping each interpolated value.
 *
 * @example
 * ```ts
 * html`<td>${jobId}</td>`; // "<td>&lt;img src=x&gt;</td>" for jobId "<img src=x>"
 * ```
 */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? "");
  });
  return new Html(out);
}

/** A table with a header row; `rows` are `<tr>` markup. */
export function table(headers: readonly string[], rows: readonly Html[], id?: string): Html {
  return html`<table ${id ? html`id="${id}"` : ""}>
    <thead>
      <tr>
        ${headers.map((header) => html`<th>${header}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}
