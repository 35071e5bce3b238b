// TUSZ channel names onto the 19-channel montage, and .csv_bi label files.
import { describe, expect, it } from 'vitest';
import { CsvBiError, ChannelMappingError } from '../../src/data/errors.ts';
import { parseCsvBi, seizureIntervals } from '../../src/data/csv-bi.ts';
import { MONTAGE_CHANNELS } from '../../src/data/montage.ts';
import { mapChannels, parseChannelLabel, tuszLabel } from '../../src/data/tusz.ts';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';
import { sampleCsvBi } from './edf-fixtures.ts';

const TUSZ_AR = ['EEG FP1-REF', 'EEG FP2-REF', 'EEG F3-REF', 'EEG F4-REF', 'EEG C3-REF', 'EEG C4-REF', 'EEG P3-REF', 'EEG P4-REF', 'EEG O1-REF', 'EEG O2-REF', 'EEG F7-REF', 'EEG F8-REF', 'EEG T3-REF', 'EEG T4-REF', 'EEG T5-REF', 'EEG T6-REF', 'EEG A1-REF', 'EEG A2-REF', 'EEG FZ-REF', 'EEG CZ-REF', 'EEG PZ-REF', 'EEG ROC-REF', 'EEG LOC-REF', 'EEG EKG1-REF', 'EEG T1-REF', 'EEG T2-REF', 'PHOTIC-REF', 'IBI', 'BURSTS', 'SUPPR'];

describe('TUSZ channel mapping', () => {
  it('maps a TUSZ "-REF" recording onto the montage order', () => {
    const m = mapChannels(TUSZ_AR);
    expect(m.indices.map((i) => TUSZ_AR[i])).toEqual(MONTAGE_CHANNELS.map((c) => `EEG ${c.toUpperCase()}-REF`));
    expect(m.references).toEqual(['REF']);
  });

  it('maps shuffled "-LE" labels, case and spacing variants and the 10-10 aliases', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const aliases: Record<string, string> = { T3: 'T7', T4: 'T8', T5: 'P7', T6: 'P8' };
    const styles = [(c: string) => `EEG ${c.toUpperCase()}-LE`, (c: string) => `eeg ${c}-le`, (c: string) => ` EEG  ${c} - LE `, (c: string) => `${c.toUpperCase()}-LE`];
    const labels = MONTAGE_CHANNELS.map((c, i) => styles[i % styles.length](aliases[c] ?? c));
    labels.push('EEG EKG1-LE', 'EEG 26-LE', 'EEG FP1-F7'); // not montage channels: a bipolar pair stays unmapped
    const order = labels.map((_, i) => i).sort(() => rng() - 0.5);
    const shuffled = order.map((i) => labels[i]);
    const m = mapChannels(shuffled);
    expect(m.indices.map((i) => shuffled[i]), `seed ${seed}`).toEqual(labels.slice(0, 19));
    expect(m.references).toEqual(['LE']);
  });

  it('parses single labels', () => {
    expect(parseChannelLabel('EEG FP1-REF')).toEqual({ channel: 'Fp1', reference: 'REF' });
    expect(parseChannelLabel('EEG T7-LE')).toEqual({ channel: 'T3', reference: 'LE' });
    expect(parseChannelLabel('Fp2')).toEqual({ channel: 'Fp2', reference: '' });
    expect(parseChannelLabel('EEG FP1-F7')).toBeNull();
    expect(parseChannelLabel('EEG EKG1-REF')).toBeNull();
    expect(tuszLabel('Fz')).toBe('EEG FZ-REF');
  });

  it('names exactly the missing channels', () => {
    const labels = TUSZ_AR.filter((l) => !['EEG O2-REF', 'EEG T4-REF', 'EEG CZ-REF'].includes(l));
    const e = (() => {
      try {
        mapChannels(labels);
      } catch (err) {
        return err as ChannelMappingError;
      }
    })();
    expect(e).toBeInstanceOf(ChannelMappingError);
    expect(e!.code).toBe('missing');
    expect(e!.missing).toEqual(['Cz', 'T4', 'O2']);
    expect(e!.message).toMatch(/^missing 3 of the 19 montage channels: Cz, T4, O2 \(signals present: "EEG FP1-REF"/);
  });

  it('refuses two signals for one channel', () => {
    expect(() => mapChannels([...TUSZ_AR, 'EEG T7-REF'])).toThrow(/more than one signal maps onto T3: "EEG T3-REF" \(#12\) and "EEG T7-REF" \(#30\)/);
  });
});

describe('.csv_bi labels', () => {
  it('parses metadata, rows and seizure intervals', () => {
    const f = parseCsvBi(sampleCsvBi());
    expect(f.duration).toBe(301);
    expect(f.metadata.bname).toBe('aaaaaaac_s001_t000');
    expect(f.events.map((e) => [e.label, e.start, e.stop, e.seizure])).toEqual([
      ['bckg', 0, 36.8868, false],
      ['seiz', 36.8868, 183.3055, true],
      ['bckg', 183.3055, 301, false],
    ]);
    expect(seizureIntervals(f)).toEqual([[36.8868, 183.3055]]);
  });

  it('merges overlapping seizure events across channels', () => {
    const text = 'channel,start_time,stop_time,label,confidence\nFP1-F7,10,20,seiz,1\nT3-T5,15,30,seiz,0.5\nTERM,40,50,fnsz,1\n';
    expect(seizureIntervals(parseCsvBi(text))).toEqual([[10, 30], [40, 50]]);
  });
  it("reads TUSZ's per-channel .csv with every seizure type, the ones the original dropped (cnsz, atsz, nesz) included", () => {
    const text = '# duration = 60.0000 secs\nchannel,start_time,stop_time,label,confidence\n'
      + 'FP1-F7,0.0000,5.0000,bckg,1.0000\nFP1-F7,5.0000,9.5000,cnsz,1.0000\nF7-T3,9.0000,12.0000,atsz,1.0000\n'
      + 'C3-P3,30.2500,31.0000,nesz,1.0000\nC3-P3,31.0000,60.0000,bckg,1.0000\n';
    expect(seizureIntervals(parseCsvBi(text, 'x.csv'))).toEqual([[5, 12], [30.25, 31]]);
  });

  const header = '# duration = 100.0000 secs\nchannel,start_time,stop_time,label,confidence\n';
  const bad: Array<[string, string, string, RegExp]> = [
    ['no header row', '# version = csv_v1.0.0\nTERM,0,1,seiz,1\n', 'bad-header', /line 2: expected the header row/],
    ['a short row', `${header}TERM,0,1,seiz\n`, 'bad-row', /line 3: 4 columns, expected 5/],
    ['a non-numeric time', `${header}TERM,zero,1,seiz,1\n`, 'non-numeric', /line 3: start_time "zero" is not a number/],
    ['stop before start', `${header}TERM,5,4,seiz,1\n`, 'bad-time', /stop_time 4 is not after start_time 5/],
    ['an event past the duration', `${header}TERM,5,140,seiz,1\n`, 'bad-time', /stop_time 140 is past the recording's duration 100 s/],
    ['an unknown label', `${header}TERM,5,14,sleep,1\n`, 'bad-label', /label "sleep" is neither "bckg" nor a seizure label/],
    ['a confidence above 1', `${header}TERM,5,14,seiz,1.5\n`, 'bad-confidence', /confidence 1.5 is outside \[0, 1\]/],
    ['a bad duration comment', '# duration = long secs\n', 'bad-duration', /duration "long secs"/],
  ];
  for (const [what, text, code, message] of bad) {
    it(`rejects ${what}`, () => {
      let error: unknown;
      try {
        parseCsvBi(text, 'x.csv_bi');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CsvBiError);
      expect((error as CsvBiError).code).toBe(code);
      expect((error as CsvBiError).message).toMatch(message);
    });
  }
});
