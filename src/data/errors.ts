/**
 * Errors for bad input files. Every parser in src/data throws only these for malformed bytes, so a caller (and
 * the fuzz tests) can tell "this file is wrong, here is why" apart from a bug.
 */
export type DataFormat = 'edf' | 'npy' | 'npz' | 'csv_bi' | 'channels';

export class DataFormatError extends Error {
  override name = 'DataFormatError';
  constructor(
    readonly format: DataFormat,
    /** A stable machine-readable reason, e.g. 'truncated', 'non-numeric', 'bad-range'. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class EdfError extends DataFormatError {
  override name = 'EdfError';
  constructor(code: EdfErrorCode, message: string) {
    super('edf', code, message);
  }
}

export type EdfErrorCode =
  | 'truncated'
  | 'bad-version'
  | 'bad-header-size'
  | 'non-numeric'
  | 'bad-signal-count'
  | 'record-count'
  | 'bad-record-duration'
  | 'zero-width-signal'
  | 'bad-digital-range'
  | 'bad-physical-range'
  | 'bad-annotation'
  | 'bad-request';

export class NpyError extends DataFormatError {
  override name = 'NpyError';
  constructor(code: string, message: string) {
    super('npy', code, message);
  }
}

export class NpzError extends DataFormatError {
  override name = 'NpzError';
  constructor(code: string, message: string) {
    super('npz', code, message);
  }
}

export class CsvBiError extends DataFormatError {
  override name = 'CsvBiError';
  constructor(code: string, message: string) {
    super('csv_bi', code, message);
  }
}

export class ChannelMappingError extends DataFormatError {
  override name = 'ChannelMappingError';
  constructor(
    code: string,
    message: string,
    /** Montage channels that no signal maps onto (empty for other codes). */
    readonly missing: readonly string[] = [],
  ) {
    super('channels', code, message);
  }
}
