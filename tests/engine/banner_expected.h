/* SPDX-License-Identifier: Apache-2.0 */
/* Upstream's banners, as Python's print() lays them out. */
#pragma once
static const char banner_r[] =
    " \n"
    " %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%% \n"
    " %                                                                            % \n"
    " %               STARTING 87f17c6d-29e5-42ca-9049-965a2d1b2f1a                % \n"
    " %                                                                            % \n"
    " %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%% \n"
    " executing: echo\n"
    "";
static const char banner_p_location[] =
    " \n"
    " ****************************************************************************** \n"
    " *                                                                            * \n"
    " *                                 STARTING                                   * \n"
    " *                                                                            * \n"
    " ****************************************************************************** \n"
    " executing: sh\n"
    "";
