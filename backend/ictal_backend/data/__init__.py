"""EEG data I/O, the same formats and rules as src/data (TypeScript): EDF/EDF+ (edf), TUSZ channel names
(tusz), .csv_bi labels (csv_bi), NPZ windows files (npz), and the fast window cache with its builder (cache)."""
