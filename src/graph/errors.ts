/** A graph that cannot be built or an IR document that cannot be loaded; the message names where and what. */
export class GraphError extends Error {
  override name = 'GraphError';
}
