// Which dropped files make a recording: the .edf and its labels (.csv_bi first, else TUSZ's per-channel .csv).
import { describe, expect, it } from 'vitest';
import { recordingFiles } from '../../src/ui/recording-store.ts';

const file = (name: string) => new File(['x'], name);

describe('recordingFiles', () => {
  it('takes an .edf alone, with its .csv_bi, or with a per-channel .csv', () => {
    expect(recordingFiles([file('a.edf')]).csvBi).toBeUndefined();
    expect(recordingFiles([file('a.csv_bi'), file('a.edf')]).csvBi!.name).toBe('a.csv_bi');
    expect(recordingFiles([file('a.edf'), file('A.CSV')]).csvBi!.name).toBe('A.CSV');
  });

  it('prefers the .csv_bi when both label files come along', () => {
    expect(recordingFiles([file('a.csv'), file('a.edf'), file('a.csv_bi')]).csvBi!.name).toBe('a.csv_bi');
  });

  it('names what does not fit', () => {
    expect(() => recordingFiles([file('a.edf'), file('notes.txt')])).toThrow('"notes.txt": not an .edf recording or a .csv_bi / .csv label file');
    expect(() => recordingFiles([file('a.csv')])).toThrow('one .edf file is needed');
    expect(() => recordingFiles([file('a.edf'), file('b.edf')])).toThrow('"a.edf", "b.edf"');
    expect(() => recordingFiles([file('a.edf'), file('a.csv'), file('b.csv')])).toThrow('at most one label file goes with a recording, got "a.csv", "b.csv"');
  });
});
