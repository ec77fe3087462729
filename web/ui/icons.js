// The few icons the page draws: inline SVG in the text colour, hidden from
// screen readers (every control that shows one has a name of its own).
import { html } from "../html.js";

const icon = (d) => html`<svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false"><path d=${d} /></svg>`;

export const MenuIcon = () => icon("M3 6h18M3 12h18M3 18h18");
export const PeopleIcon = () => icon("M16 19v-1a4 4 0 0 0-4-4H7a4 4 0 0 0-4 4v1M9.5 10a3 3 0 1 0 0-6 3 3 0 0 0 0 6M21 19v-1a4 4 0 0 0-3-3.9M15.5 4.1a3 3 0 0 1 0 5.8");
export const LogoutIcon = () => icon("M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 17l-5-5 5-5M5 12h11");
export const SendIcon = () => icon("M4 12l16-8-6 16-3-7-7-1z");
export const CloseIcon = () => icon("M6 6l12 12M18 6L6 18");
export const LockIcon = () => icon("M7 11V8a5 5 0 0 1 10 0v3M5 11h14v9H5z");
export const DownIcon = () => icon("M12 5v14M6 13l6 6 6-6");
