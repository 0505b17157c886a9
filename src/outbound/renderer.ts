/**
 * What the sender needs from the template library (src/templates'
 * TemplateLibrary satisfies it): render one template for one recipient.
 */
export interface RenderedContent {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
}

export interface Renderer {
  render(name: string, locale: string, data: Record<string, unknown>): RenderedContent;
  /** Many recipients of one template at once (what recipients share rendered once); throws if any fails. */
  renderBatch?(name: string, locale: string, data: ReadonlyArray<Record<string, unknown>>): RenderedContent[];
  resolveLocale?(name: string, wanted: string | null | undefined): string | undefined;
}
